{{/* Standard labels (app.kubernetes.io/*) on every object of the release. */}}
{{- define "switchyard.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "gateway"). */}}
{{- define "switchyard.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* An image reference; the tag defaults to the chart's appVersion: (dict "root" $ "image" .Values.gateway.image). */}}
{{- define "switchyard.image" -}}
{{ .image.repository }}:{{ .image.tag | default .root.Chart.AppVersion }}
{{- end -}}

{{/* The API-key Secret's name: the existing one, or the release's. */}}
{{- define "switchyard.keysSecret" -}}
{{ .Values.apiKeys.existingSecret | default (printf "%s-api-keys" .Release.Name) }}
{{- end -}}

{{/* REDIS_URL as an env entry: from a Secret, the bundled Redis, or the external URL. */}}
{{- define "switchyard.redisEnv" -}}
{{- if .Values.redis.urlSecret.name }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.redis.urlSecret.name }}
      key: {{ .Values.redis.urlSecret.key }}
{{- else if .Values.redis.bundled.enabled }}
- name: REDIS_URL
  value: {{ printf "redis://%s-redis:6379" .Release.Name | quote }}
{{- else }}
- name: REDIS_URL
  value: {{ required "set redis.url (or redis.urlSecret.name, or redis.bundled.enabled=true)" .Values.redis.url | quote }}
{{- end }}
- name: REDIS_PREFIX
  value: {{ .Values.redis.prefix | quote }}
- name: QUEUE_ENGINE
  value: {{ .Values.redis.queueEngine | quote }}
{{- if and .Values.redis.bundled.enabled (ne .Values.redis.mode "single") }}
{{- fail "redis.mode sentinel or cluster needs an external Redis (redis.bundled.enabled=false)" }}
{{- end }}
- name: REDIS_MODE
  value: {{ .Values.redis.mode | quote }}
{{- if eq .Values.redis.mode "sentinel" }}
- name: REDIS_SENTINEL_MASTER
  value: {{ required "redis.mode=sentinel needs redis.sentinelMaster" .Values.redis.sentinelMaster | quote }}
{{- end }}
{{- with .Values.redis.username }}
- name: REDIS_USERNAME
  value: {{ . | quote }}
{{- end }}
{{- if .Values.redis.passwordSecret.name }}
- name: REDIS_PASSWORD_FILE
  value: /etc/switchyard/redis-password/{{ .Values.redis.passwordSecret.key }}
{{- end }}
{{- if .Values.redis.tlsCaSecret.name }}
- name: REDIS_TLS_CA_FILE
  value: /etc/switchyard/redis-ca/{{ .Values.redis.tlsCaSecret.key }}
{{- end }}
- name: MODEL_REPOSITORY
  value: {{ include "switchyard.modelPath" . | quote }}
{{- end -}}

{{/* The Redis password and CA Secrets, mounted read-only where the REDIS_*_FILE settings point. */}}
{{- define "switchyard.redisMounts" -}}
{{- if .Values.redis.passwordSecret.name }}
- name: redis-password
  mountPath: /etc/switchyard/redis-password
  readOnly: true
{{- end }}
{{- if .Values.redis.tlsCaSecret.name }}
- name: redis-ca
  mountPath: /etc/switchyard/redis-ca
  readOnly: true
{{- end }}
{{- end -}}

{{- define "switchyard.redisVolumes" -}}
{{- with .Values.redis.passwordSecret.name }}
- name: redis-password
  secret:
    secretName: {{ . }}
{{- end }}
{{- with .Values.redis.tlsCaSecret.name }}
- name: redis-ca
  secret:
    secretName: {{ . }}
{{- end }}
{{- end -}}

{{/* Where MODEL_REPOSITORY points in the pods. */}}
{{- define "switchyard.modelPath" -}}
{{- if eq .Values.modelRepository.source "baked" }}{{ .Values.modelRepository.bakedPath }}{{ else }}/models{{ end }}
{{- end -}}

{{/* The model repository's volume, when it is not baked into the image. */}}
{{- define "switchyard.modelVolume" -}}
{{- if eq .Values.modelRepository.source "volume" }}
- name: models
  persistentVolumeClaim:
    claimName: {{ required "set modelRepository.volume.claimName" .Values.modelRepository.volume.claimName }}
    readOnly: true
{{- else if eq .Values.modelRepository.source "image" }}
- name: models
  emptyDir: {}
{{- end }}
{{- end -}}

{{- define "switchyard.modelMount" -}}
{{- if ne .Values.modelRepository.source "baked" }}
- name: models
  mountPath: /models
  readOnly: true
  {{- with .Values.modelRepository.volume.subPath }}
  subPath: {{ . }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* With source "image": copies the models image's /models into the emptyDir before the server starts. */}}
{{- define "switchyard.modelInit" -}}
{{- if eq .Values.modelRepository.source "image" }}
- name: copy-models
  image: {{ include "switchyard.image" (dict "root" . "image" .Values.modelRepository.image) }}
  imagePullPolicy: {{ .Values.modelRepository.image.pullPolicy }}
  command: ["cp", "-r", "/models/.", "/repository/"]
  securityContext:
    {{- include "switchyard.containerSecurity" . | nindent 4 }}
  volumeMounts:
    - name: models
      mountPath: /repository
{{- end }}
{{- end -}}

{{/* Every container: uid 1000 (the images' node user), nothing gained, nothing written to the image. */}}
{{- define "switchyard.containerSecurity" -}}
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end -}}

{{/* host:port of Redis, for KEDA's redis trigger (one server: the chart refuses that trigger for Sentinel and Cluster). */}}
{{- define "switchyard.redisAddress" -}}
{{- if .Values.redis.bundled.enabled -}}
{{ printf "%s-redis.%s.svc:6379" .Release.Name .Release.Namespace }}
{{- else -}}
{{ (urlParse (required "the redis KEDA trigger needs redis.url (or the bundled Redis)" .Values.redis.url)).host }}
{{- end -}}
{{- end -}}

{{/* The database number of REDIS_URL (its path, as the processes read it), for KEDA's redis trigger. */}}
{{- define "switchyard.redisDatabase" -}}
{{- if .Values.redis.bundled.enabled -}}
0
{{- else -}}
{{ default "0" (trimPrefix "/" (urlParse .Values.redis.url).path) }}
{{- end -}}
{{- end -}}

{{/* The gateway's scheme, and its URL inside the cluster (the Helm test, the load test). */}}
{{- define "switchyard.gatewayUrl" -}}
{{ printf "%s://%s-gateway:%v" (ternary "https" "http" .Values.tls.enabled) .Release.Name .Values.gateway.service.port }}
{{- end -}}

{{/* TLS values that cannot work, refused with a message; included where TLS is used. */}}
{{- define "switchyard.tlsChecks" -}}
{{- if and .Values.tls.enabled (not .Values.tls.secretName) }}
{{- fail "tls.enabled needs tls.secretName (a kubernetes.io/tls Secret, e.g. a cert-manager Certificate's)" }}
{{- end }}
{{- if and .Values.tls.clientCA.enabled (not .Values.tls.enabled) }}
{{- fail "tls.clientCA.enabled (client certificates) needs tls.enabled" }}
{{- end }}
{{- if and .Values.tls.clientCA.enabled (not .Values.tls.clientCA.clientSecretName) }}
{{- fail "tls.clientCA.enabled needs tls.clientCA.clientSecretName (a client certificate for the Helm test and the ServiceMonitor)" }}
{{- end }}
{{- if and .Values.tls.clientCA.enabled .Values.loadtest.enabled }}
{{- fail "loadtest.enabled with tls.clientCA.enabled: the load-test CLI presents no client certificate" }}
{{- end }}
{{- end -}}

{{/*
The files the chart's own clients of the gateway read, in one volume mounted at /etc/switchyard/tls:
ca.crt (the gateway's CA) and, with mTLS, client.crt and client.key.
*/}}
{{- define "switchyard.clientTlsVolume" -}}
- name: gateway-tls
  projected:
    sources:
      - secret:
          name: {{ .Values.tls.secretName }}
          items:
            - { key: {{ .Values.tls.caKey }}, path: ca.crt }
      {{- if .Values.tls.clientCA.enabled }}
      - secret:
          name: {{ .Values.tls.clientCA.clientSecretName }}
          items:
            - { key: tls.crt, path: client.crt }
            - { key: tls.key, path: client.key }
      {{- end }}
{{- end -}}
