{{/* the gateway's namespace: its own value, or this release's */}}
{{- define "strata-data.gatewayNamespace" -}}
{{ .Values.gateway.namespace | default .Release.Namespace }}
{{- end }}

{{/* a peer selector for the gateway's pods in its namespace */}}
{{- define "strata-data.gatewayPeer" -}}
- namespaceSelector:
    matchLabels:
      kubernetes.io/metadata.name: {{ include "strata-data.gatewayNamespace" . }}
  podSelector:
    matchLabels:
      {{- toYaml .Values.gateway.podLabels | nindent 6 }}
{{- end }}

{{/* object-store settings shared by the cluster and the clusters recovered from its backups */}}
{{- define "strata-data.objectStore" -}}
destinationPath: {{ .Values.postgres.backup.destinationPath }}
s3Credentials:
  accessKeyId:
    name: {{ .Values.postgres.backup.s3Secret }}
    key: ACCESS_KEY_ID
  secretAccessKey:
    name: {{ .Values.postgres.backup.s3Secret }}
    key: SECRET_ACCESS_KEY
{{- end }}
