{{/* redis://USER:${quarkus.redis.password}@redis-0.redis.NS.svc:6379,... : the seed nodes of the Redis
Cluster in deploy/data. The password stays in the Secret: Quarkus expands the expression when it
reads the hosts, and every Redis client Strata builds takes its credentials from the hosts. */}}
{{- define "strata.redisHosts" -}}
{{- $hosts := list }}
{{- range $i := until (int .seeds) }}
{{- $hosts = append $hosts (printf "redis://%s:${quarkus.redis.password}@redis-%d.redis.%s.svc:6379" $.user $i $.ns) }}
{{- end }}
{{- join "," $hosts }}
{{- end }}
