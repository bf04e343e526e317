package io.strata.api;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.client5.http.protocol.HttpClientContext;
import org.apache.hc.core5.http.ClassicHttpResponse;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.Header;
import org.apache.hc.core5.http.HttpRequest;
import org.apache.hc.core5.http.io.entity.ByteArrayEntity;
import org.apache.hc.core5.http.io.entity.EntityUtils;

/**
 * Every request the generated client sends and what the gateway answered, recorded from inside the
 * client's HTTP stack, so that each answer can be checked against the document afterwards.
 */
final class Exchanges {

    /** One request and its answer; header names in lower case. */
    record Exchange(String method, String path, int status, Map<String, String> headers, byte[] body) {
        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }

        @Override
        public String toString() {
            return method + " " + path + " -> " + status;
        }
    }

    private final List<Exchange> recorded = Collections.synchronizedList(new ArrayList<>());

    /** An HTTP client for the generated {@code ApiClient} that records every exchange. */
    CloseableHttpClient httpClient() {
        // HttpClient would retry a 429 or 503 after its Retry-After by itself: the suite sees every answer
        return HttpClients.custom()
                .disableAutomaticRetries()
                .addResponseInterceptorLast((response, entity, context) -> {
                    HttpRequest request =
                            HttpClientContext.castOrCreate(context).getRequest();
                    byte[] body = new byte[0];
                    if (response instanceof ClassicHttpResponse classic && classic.getEntity() != null) {
                        body = EntityUtils.toByteArray(classic.getEntity());
                        String type = classic.getEntity().getContentType();
                        classic.setEntity(new ByteArrayEntity(body, type == null ? null : ContentType.parse(type)));
                    }
                    Map<String, String> headers = new LinkedHashMap<>();
                    for (Header header : response.getHeaders()) {
                        headers.merge(
                                header.getName().toLowerCase(Locale.ROOT), header.getValue(), (a, b) -> a + ", " + b);
                    }
                    String path = request.getPath();
                    int query = path.indexOf('?');
                    recorded.add(new Exchange(
                            request.getMethod(),
                            query < 0 ? path : path.substring(0, query),
                            response.getCode(),
                            headers,
                            body));
                })
                .build();
    }

    List<Exchange> all() {
        synchronized (recorded) {
            return List.copyOf(recorded);
        }
    }

    Exchange last() {
        synchronized (recorded) {
            return recorded.get(recorded.size() - 1);
        }
    }
}
