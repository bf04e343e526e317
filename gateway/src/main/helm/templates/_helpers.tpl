{{/* redis://USER@redis-0.redis.NS.svc:6379,... : the seed nodes of the Redis Cluster in deploy/data */}}
{{- define "strata.redisHosts" -}}
{{- $hosts := list }}
{{- range $i := until (int .seeds) }}
{{- $hosts = append $hosts (printf "redis://%s@redis-%d.redis.%s.svc:6379" $.user $i $.ns) }}
{{- end }}
{{- join "," $hosts }}
{{- end }}
