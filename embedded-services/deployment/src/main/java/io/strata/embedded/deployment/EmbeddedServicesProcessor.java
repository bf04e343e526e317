package io.strata.embedded.deployment;

import java.util.Map;

import io.quarkus.deployment.IsDevServicesSupportedByLaunchMode;
import io.quarkus.deployment.annotations.BuildProducer;
import io.quarkus.deployment.annotations.BuildStep;
import io.quarkus.deployment.builditem.DevServicesResultBuildItem;
import io.quarkus.deployment.builditem.FeatureBuildItem;
import io.quarkus.deployment.dev.devservices.DevServicesConfig;
import io.quarkus.runtime.configuration.ConfigUtils;

/**
 * Dev services without Docker: in dev and test mode, a real PostgreSQL and a real Redis Cluster are
 * started on free ports unless the user configured an address for them. Their addresses reach the
 * application as configuration with a lower priority than {@code application.properties}.
 */
class EmbeddedServicesProcessor {

    private static final String FEATURE = "strata-embedded-services";

    @BuildStep
    FeatureBuildItem feature() {
        return new FeatureBuildItem(FEATURE);
    }

    @BuildStep(onlyIf = {IsDevServicesSupportedByLaunchMode.class, DevServicesConfig.Enabled.class})
    void startServices(EmbeddedServicesConfig config, BuildProducer<DevServicesResultBuildItem> services) {
        if (!config.enabled()) {
            return;
        }
        if (!ConfigUtils.isPropertyNonEmpty("quarkus.datasource.reactive.url")
                && !ConfigUtils.isPropertyNonEmpty("quarkus.datasource.jdbc.url")) {
            services.produce(DevServicesResultBuildItem.owned()
                    .feature(FEATURE)
                    .serviceName("strata-postgresql")
                    .serviceConfig(config.postgresStartupTimeout())
                    .startable(() -> new EmbeddedPostgres(config.postgresStartupTimeout()))
                    .configProvider(Map.of(
                            "quarkus.datasource.reactive.url", EmbeddedPostgres::reactiveUrl,
                            "quarkus.datasource.jdbc.url", EmbeddedPostgres::jdbcUrl,
                            "quarkus.datasource.username", pg -> EmbeddedPostgres.USER,
                            "quarkus.datasource.password", EmbeddedPostgres::password))
                    .build());
        }
        if (!ConfigUtils.isPropertyNonEmpty("quarkus.redis.hosts")) {
            services.produce(DevServicesResultBuildItem.owned()
                    .feature(FEATURE)
                    .serviceName("strata-redis-cluster")
                    .serviceConfig(config.redisMasters() + "/" + config.redisReplicasPerMaster() + "/"
                            + config.redisNodeTimeoutMillis())
                    .startable(() -> new EmbeddedRedisCluster(
                            config.redisMasters(), config.redisReplicasPerMaster(), config.redisNodeTimeoutMillis()))
                    .configProvider(Map.of("quarkus.redis.hosts", EmbeddedRedisCluster::hosts))
                    .build());
        }
    }
}
