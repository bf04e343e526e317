package io.strata.system;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;

/**
 * 1,000 concurrent GETs of one document spread over gateways, on connections opened beforehand (so
 * that the burst measures requests rather than TCP handshakes), counting the storage reads it cost.
 */
final class Stampede {

    /** What the burst was answered, and what it cost. */
    record Result(
            Map<Integer, Long> statuses, Map<String, Long> cacheStatuses, long storageReads, long redisFailures) {}

    private Stampede() {}

    /** Something to do once every request of the burst is sent, before the answers are awaited. */
    interface WhileInFlight {
        void run() throws Exception;
    }

    static Result run(List<GatewayProcess> gateways, String path, int requests) throws Exception {
        return run(gateways, path, requests, () -> {});
    }

    static Result run(List<GatewayProcess> gateways, String path, int requests, WhileInFlight whileInFlight)
            throws Exception {
        HttpClient client =
                HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        List<CompletableFuture<HttpResponse<Void>>> warm = new ArrayList<>();
        for (int i = 0; i < requests; i++) {
            warm.add(client.sendAsync(
                    ApiKey.request(gateways.get(i % gateways.size()).uri("/v1")).build(),
                    HttpResponse.BodyHandlers.discarding()));
        }
        warm.forEach(CompletableFuture::join);
        double readsBefore = FaultLab.storageReads(gateways);
        double failuresBefore = redisFailures(gateways);
        List<CompletableFuture<HttpResponse<String>>> responses = new ArrayList<>();
        for (int i = 0; i < requests; i++) {
            HttpRequest request = ApiKey.request(
                            gateways.get(i % gateways.size()).uri(path))
                    .timeout(Duration.ofSeconds(30))
                    .build();
            responses.add(client.sendAsync(request, HttpResponse.BodyHandlers.ofString()));
        }
        whileInFlight.run();
        List<HttpResponse<String>> answers =
                responses.stream().map(CompletableFuture::join).toList();
        Map<Integer, Long> statuses = answers.stream()
                .collect(Collectors.groupingBy(HttpResponse::statusCode, TreeMap::new, Collectors.counting()));
        Map<String, Long> cacheStatuses = answers.stream()
                .collect(Collectors.groupingBy(
                        r -> r.headers().firstValue("Cache-Status").orElse("none"),
                        TreeMap::new,
                        Collectors.counting()));
        return new Result(
                statuses,
                cacheStatuses,
                Math.round(FaultLab.storageReads(gateways) - readsBefore),
                Math.round(redisFailures(gateways) - failuresBefore));
    }

    /** Redis calls that failed or timed out (whatever the guard made of them). */
    private static double redisFailures(List<GatewayProcess> gateways) throws Exception {
        double sum = 0;
        for (GatewayProcess gateway : gateways) {
            sum += gateway.metric("strata_redis_failures_total", "");
        }
        return sum;
    }
}
