{{/* ---------------------------------------------------------------- names and labels */}}

{{- define "docqueue.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "docqueue.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* <fullname>-<component>: the name of a component's resources. Call with (list $ "api"). */}}
{{- define "docqueue.componentName" -}}
{{- $root := index . 0 -}}
{{- printf "%s-%s" (include "docqueue.fullname" $root) (index . 1) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "docqueue.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "docqueue.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/* Labels of every resource of a component. Call with (list $ "api"). */}}
{{- define "docqueue.labels" -}}
{{- $root := index . 0 -}}
helm.sh/chart: {{ printf "%s-%s" $root.Chart.Name $root.Chart.Version | replace "+" "_" }}
{{ include "docqueue.selectorLabels" . }}
app.kubernetes.io/part-of: docqueue
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
{{- with $root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "docqueue.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "docqueue.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Image of one of docqueue's own services. Call with (list $ .Values.api.image). */}}
{{- define "docqueue.image" -}}
{{- $root := index . 0 -}}
{{- $image := index . 1 -}}
{{- $tag := default $root.Chart.AppVersion $root.Values.image.tag -}}
{{- if $root.Values.imageRegistry -}}
{{- printf "%s/%s:%s" (trimSuffix "/" $root.Values.imageRegistry) $image.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" $image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* ---------------------------------------------------------------- Redis */}}

{{/* "true" when the bundled Redis runs with Sentinel (redis.architecture=sentinel). */}}
{{- define "docqueue.redis.bundledSentinel" -}}
{{- if and .Values.redis.enabled (eq .Values.redis.architecture "sentinel") -}}true{{- end -}}
{{- end -}}

{{/* "true" when clients find the master through Sentinel: bundled or external. */}}
{{- define "docqueue.redis.sentinel" -}}
{{- if or (eq (include "docqueue.redis.bundledSentinel" .) "true") (and (not .Values.redis.enabled) .Values.externalRedis.sentinel.enabled) -}}true{{- end -}}
{{- end -}}

{{/* The bundled Sentinel StatefulSet's pods and their stable DNS names. */}}
{{- define "docqueue.redis.nodeName" -}}{{ include "docqueue.componentName" (list . "redis-node") }}{{- end -}}
{{- define "docqueue.redis.nodeHost" -}}
{{- $root := index . 0 -}}
{{- printf "%s-%d.%s.%s.svc" (include "docqueue.redis.nodeName" $root) (int (index . 1)) (include "docqueue.componentName" (list $root "redis-headless")) $root.Release.Namespace -}}
{{- end -}}

{{/* The environment both containers of a Sentinel pod start from (redis-node-configmap.yaml). */}}
{{- define "docqueue.redis.nodeEnv" -}}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "docqueue.redis.secretName" . }}
      key: {{ include "docqueue.redis.secretKey" . }}
# redis-cli reads the password from here, so it never shows in a process list.
- name: REDISCLI_AUTH
  valueFrom:
    secretKeyRef:
      name: {{ include "docqueue.redis.secretName" . }}
      key: {{ include "docqueue.redis.secretKey" . }}
- name: NODE
  value: {{ include "docqueue.redis.nodeName" . | quote }}
- name: HEADLESS
  value: {{ printf "%s.%s.svc" (include "docqueue.componentName" (list . "redis-headless")) .Release.Namespace | quote }}
- name: REPLICAS
  value: {{ .Values.redis.sentinel.replicas | int | quote }}
- name: MASTER_NAME
  value: {{ .Values.redis.sentinel.masterName | quote }}
{{- end -}}

{{/* The sentinels as a list of [host, port] pairs. */}}
{{- define "docqueue.redis.sentinels" -}}
{{- $pairs := list -}}
{{- if eq (include "docqueue.redis.bundledSentinel" .) "true" -}}
{{- range $i := until (int .Values.redis.sentinel.replicas) -}}
{{- $pairs = append $pairs (list (include "docqueue.redis.nodeHost" (list $ $i)) "26379") -}}
{{- end -}}
{{- else -}}
{{- if not .Values.externalRedis.sentinel.hosts -}}
{{- fail "externalRedis.sentinel.hosts is required when externalRedis.sentinel.enabled" -}}
{{- end -}}
{{- range $entry := .Values.externalRedis.sentinel.hosts -}}
{{- $parts := splitList ":" (toString $entry) -}}
{{- $pairs = append $pairs (list (first $parts) (ternary (last $parts) "26379" (gt (len $parts) 1))) -}}
{{- end -}}
{{- end -}}
{{- toJson $pairs -}}
{{- end -}}

{{- define "docqueue.redis.masterName" -}}
{{- if eq (include "docqueue.redis.bundledSentinel" .) "true" -}}{{ .Values.redis.sentinel.masterName }}{{- else -}}{{ .Values.externalRedis.sentinel.masterName }}{{- end -}}
{{- end -}}

{{- define "docqueue.redis.replicaAcks" -}}
{{- if eq (include "docqueue.redis.bundledSentinel" .) "true" -}}{{ .Values.redis.sentinel.replicaAcks | int }}{{- else -}}{{ .Values.externalRedis.sentinel.replicaAcks | int }}{{- end -}}
{{- end -}}

{{/* The Secret and key of the sentinels' own password, "" when they have none. The bundled
     sentinels take the Redis password. */}}
{{- define "docqueue.redis.sentinelSecretName" -}}
{{- if eq (include "docqueue.redis.bundledSentinel" .) "true" -}}{{ include "docqueue.redis.secretName" . }}
{{- else if eq (include "docqueue.redis.sentinel" .) "true" -}}{{ .Values.externalRedis.sentinel.existingSecret }}
{{- end -}}
{{- end -}}
{{- define "docqueue.redis.sentinelSecretKey" -}}
{{- if eq (include "docqueue.redis.bundledSentinel" .) "true" -}}{{ include "docqueue.redis.secretKey" . }}
{{- else -}}{{ .Values.externalRedis.sentinel.existingSecretPasswordKey }}
{{- end -}}
{{- end -}}

{{- define "docqueue.redis.host" -}}
{{- if .Values.redis.enabled -}}
{{- include "docqueue.componentName" (list . "redis") -}}
{{- else -}}
{{- required "externalRedis.host is required when redis.enabled=false" .Values.externalRedis.host -}}
{{- end -}}
{{- end -}}

{{- define "docqueue.redis.port" -}}
{{- if .Values.redis.enabled -}}6379{{- else -}}{{ .Values.externalRedis.port | int }}{{- end -}}
{{- end -}}

{{- define "docqueue.redis.db" -}}
{{- if .Values.redis.enabled -}}0{{- else -}}{{ .Values.externalRedis.db | int }}{{- end -}}
{{- end -}}

{{- define "docqueue.redis.tls" -}}
{{- if and (not .Values.redis.enabled) .Values.externalRedis.tls.enabled -}}true{{- end -}}
{{- end -}}

{{- define "docqueue.redis.secretName" -}}
{{- if .Values.redis.enabled -}}
{{- default (include "docqueue.componentName" (list . "redis")) .Values.redis.auth.existingSecret -}}
{{- else -}}
{{- required "externalRedis.existingSecret is required when redis.enabled=false" .Values.externalRedis.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "docqueue.redis.secretKey" -}}
{{- if .Values.redis.enabled -}}
{{- .Values.redis.auth.existingSecretPasswordKey -}}
{{- else -}}
{{- .Values.externalRedis.existingSecretPasswordKey -}}
{{- end -}}
{{- end -}}

{{- define "docqueue.redis.caPath" -}}/etc/docqueue/redis-ca/{{ .Values.externalRedis.tls.caKey }}{{- end -}}

{{/* A Redis URL on database $db, the password left as $(REDIS_PASSWORD) for Kubernetes to expand
     from the env var of that name (which must be listed before the variable using it). */}}
{{- define "docqueue.redis.url" -}}
{{- $root := index . 0 -}}
{{- $db := index . 1 -}}
{{- $user := ternary "" $root.Values.externalRedis.username $root.Values.redis.enabled -}}
{{- $scheme := ternary "rediss" "redis" (eq (include "docqueue.redis.tls" $root) "true") -}}
{{- $url := "" -}}
{{- if eq (include "docqueue.redis.sentinel" $root) "true" -}}
{{- $hosts := list -}}
{{- range $pair := include "docqueue.redis.sentinels" $root | fromJsonArray }}{{ $hosts = append $hosts (join ":" $pair) }}{{ end -}}
{{- $url = printf "%s+sentinel://%s:$(REDIS_PASSWORD)@%s/%s/%d" $scheme $user (join "," $hosts) (include "docqueue.redis.masterName" $root) (int $db) -}}
{{- else -}}
{{- $url = printf "%s://%s:$(REDIS_PASSWORD)@%s:%s/%d" $scheme $user (include "docqueue.redis.host" $root) (include "docqueue.redis.port" $root) (int $db) -}}
{{- end -}}
{{- if eq (include "docqueue.redis.tls" $root) "true" -}}
{{- $url = printf "%s?ssl_cert_reqs=required" $url -}}
{{- if $root.Values.externalRedis.tls.caSecret -}}
{{- $url = printf "%s&ssl_ca_certs=%s" $url (include "docqueue.redis.caPath" $root) -}}
{{- end -}}
{{- end -}}
{{- $url -}}
{{- end -}}

{{/* The broker URL in kombu's own form, for Flower and the celery-exporter (which do not read
     docqueue's settings): sentinel://:pw@host:port/db;sentinel://... through Sentinel, else the
     Redis URL. The master's name goes in transport options (docqueue.redis.sentinelOptions). */}}
{{- define "docqueue.redis.kombuUrl" -}}
{{- if eq (include "docqueue.redis.sentinel" .) "true" -}}
{{- $db := include "docqueue.redis.db" . | int -}}
{{- $user := .Values.externalRedis.username -}}
{{- $urls := list -}}
{{- range $pair := include "docqueue.redis.sentinels" . | fromJsonArray }}{{ $urls = append $urls (printf "sentinel://%s:$(REDIS_PASSWORD)@%s:%s/%d" $user (index $pair 0) (index $pair 1) $db) }}{{ end -}}
{{- join ";" $urls -}}
{{- else -}}
{{- include "docqueue.redis.url" (list . (include "docqueue.redis.db" .)) -}}
{{- end -}}
{{- end -}}

{{/* The password env var, then the Redis URL composed from it; through Sentinel, also the
     sentinels' own password when they have one. */}}
{{- define "docqueue.redis.env" -}}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "docqueue.redis.secretName" . }}
      key: {{ include "docqueue.redis.secretKey" . }}
{{- with include "docqueue.redis.sentinelSecretName" . }}
- name: DOCQUEUE_REDIS_SENTINEL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ include "docqueue.redis.sentinelSecretKey" $ }}
{{- end }}
- name: DOCQUEUE_REDIS_URL
  value: {{ include "docqueue.redis.url" (list . (include "docqueue.redis.db" .)) | quote }}
{{- end -}}

{{/* ---------------------------------------------------------------- storage */}}

{{- define "docqueue.storage.url" -}}
{{- $s := .Values.storage -}}
{{- if eq $s.type "redis" -}}
{{- include "docqueue.redis.url" (list . $s.redis.db) -}}
{{- else if eq $s.type "s3" -}}
{{- $query := list -}}
{{- with $s.s3.endpoint }}{{ $query = append $query (printf "endpoint_url=%s" (urlquery .)) }}{{ end -}}
{{- with $s.s3.region }}{{ $query = append $query (printf "region=%s" .) }}{{ end -}}
{{- with $s.s3.addressingStyle }}{{ $query = append $query (printf "addressing_style=%s" .) }}{{ end -}}
{{- $url := printf "s3://%s/%s" (required "storage.s3.bucket is required when storage.type=s3" $s.s3.bucket) (trimAll "/" $s.s3.prefix) -}}
{{- if $query }}{{ $url = printf "%s?%s" $url (join "&" $query) }}{{ end -}}
{{- $url -}}
{{- else -}}
file:///var/lib/docqueue/blobs
{{- end -}}
{{- end -}}

{{/* ---------------------------------------------------------------- shared pod parts */}}

{{/* DOCQUEUE_* environment shared by api, worker and beat. */}}
{{- define "docqueue.env" -}}
{{ include "docqueue.redis.env" . }}
- name: DOCQUEUE_STORAGE_URL
  value: {{ include "docqueue.storage.url" . | quote }}
{{- if and (eq .Values.storage.type "s3") .Values.storage.s3.existingSecret }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ .Values.storage.s3.existingSecret }}
      key: {{ .Values.storage.s3.accessKeyIdKey }}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.storage.s3.existingSecret }}
      key: {{ .Values.storage.s3.secretAccessKeyKey }}
{{- end }}
{{- with .Values.config }}
- name: DOCQUEUE_RETENTION_S
  value: {{ .retentionSeconds | int64 | quote }}
- name: DOCQUEUE_MAX_UPLOAD_BYTES
  value: {{ .maxUploadBytes | int64 | quote }}
- name: DOCQUEUE_BULK_MIN_BYTES
  value: {{ .bulkMinBytes | int64 | quote }}
- name: DOCQUEUE_SPLIT_MIN_PAGES
  value: {{ .splitMinPages | int64 | quote }}
- name: DOCQUEUE_SPLIT_PAGES_PER_PART
  value: {{ .splitPagesPerPart | int64 | quote }}
- name: DOCQUEUE_OCR_PAGE_BUDGET_S
  value: {{ .ocrPageBudgetSeconds | quote }}
- name: DOCQUEUE_TENANT_MAX_PAGES_IN_FLIGHT
  value: {{ .tenantMaxPagesInFlight | int64 | quote }}
- name: DOCQUEUE_MAX_PAGES
  value: {{ .maxPages | int64 | quote }}
- name: DOCQUEUE_TASK_SOFT_TIME_LIMIT_S
  value: {{ .taskSoftTimeLimitSeconds | int64 | quote }}
- name: DOCQUEUE_TASK_TIME_LIMIT_S
  value: {{ .taskTimeLimitSeconds | int64 | quote }}
- name: DOCQUEUE_VISIBILITY_TIMEOUT_S
  value: {{ .visibilityTimeoutSeconds | int64 | quote }}
- name: DOCQUEUE_MAX_RETRIES
  value: {{ .maxRetries | int64 | quote }}
- name: DOCQUEUE_RETRY_BACKOFF_MAX_S
  value: {{ .retryBackoffMaxSeconds | int64 | quote }}
- name: DOCQUEUE_OCR
  value: {{ .ocr | quote }}
- name: DOCQUEUE_OCR_LANGUAGES
  value: {{ .ocrLanguages | quote }}
- name: DOCQUEUE_OCR_INSTALLED_LANGUAGES
  value: {{ .ocrInstalledLanguages | quote }}
- name: DOCQUEUE_OCR_DPI
  value: {{ .ocrDpi | int64 | quote }}
- name: DOCQUEUE_OCR_MAX_PIXELS
  value: {{ .ocrMaxPixels | int64 | quote }}
- name: DOCQUEUE_CHUNK_BY
  value: {{ .chunkBy | quote }}
- name: DOCQUEUE_MAX_UNPACKED_BYTES
  value: {{ .maxUnpackedBytes | int64 | quote }}
- name: DOCQUEUE_LOG_LEVEL
  value: {{ .logLevel | quote }}
- name: DOCQUEUE_LOG_FORMAT
  value: {{ .logFormat | quote }}
{{- with .publicUrl }}
- name: DOCQUEUE_PUBLIC_URL
  value: {{ . | quote }}
{{- end }}
- name: DOCQUEUE_SOURCE_URLS_ENABLED
  value: {{ .sources.enabled | quote }}
{{- with .sources.allowedHosts }}
- name: DOCQUEUE_SOURCE_ALLOWED_HOSTS
  value: {{ . | quote }}
{{- end }}
{{- with .sources.allowedNetworks }}
- name: DOCQUEUE_SOURCE_ALLOWED_NETWORKS
  value: {{ . | quote }}
{{- end }}
{{- with .sources.s3Buckets }}
- name: DOCQUEUE_SOURCE_S3_BUCKETS
  value: {{ . | quote }}
{{- end }}
- name: DOCQUEUE_SOURCE_MAX_FETCH_S
  value: {{ .sources.maxFetchSeconds | int64 | quote }}
{{- with .webhookAllowedHosts }}
- name: DOCQUEUE_WEBHOOK_ALLOWED_HOSTS
  value: {{ . | quote }}
{{- end }}
{{- if .webhookSecret.existingSecret }}
- name: DOCQUEUE_WEBHOOK_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ .webhookSecret.existingSecret }}
      key: {{ .webhookSecret.key }}
{{- end }}
{{- with .extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Volumes of every pod that talks to Redis: /tmp, and the Redis CA when TLS needs one. */}}
{{- define "docqueue.volumes.base" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- if and (eq (include "docqueue.redis.tls" .) "true") .Values.externalRedis.tls.caSecret }}
- name: redis-ca
  secret:
    secretName: {{ .Values.externalRedis.tls.caSecret }}
{{- end }}
{{- end -}}

{{- define "docqueue.volumeMounts.base" -}}
- name: tmp
  mountPath: /tmp
{{- if and (eq (include "docqueue.redis.tls" .) "true") .Values.externalRedis.tls.caSecret }}
- name: redis-ca
  mountPath: /etc/docqueue/redis-ca
  readOnly: true
{{- end }}
{{- end -}}

{{/* Volumes of api, worker and beat: the base ones plus the blob volume of file storage. */}}
{{- define "docqueue.volumes" -}}
{{ include "docqueue.volumes.base" . }}
{{- if eq .Values.storage.type "file" }}
- name: blobs
  persistentVolumeClaim:
    claimName: {{ required "storage.file.existingClaim is required when storage.type=file" .Values.storage.file.existingClaim }}
{{- end }}
{{- end -}}

{{- define "docqueue.volumeMounts" -}}
{{ include "docqueue.volumeMounts.base" . }}
{{- if eq .Values.storage.type "file" }}
- name: blobs
  mountPath: /var/lib/docqueue/blobs
{{- end }}
{{- end -}}

{{/* Pod-level settings shared by every docqueue pod. */}}
{{- define "docqueue.podSpecCommon" -}}
serviceAccountName: {{ include "docqueue.serviceAccountName" . }}
automountServiceAccountToken: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Node placement of a component. Call with its values block. */}}
{{- define "docqueue.placement" -}}
{{- with .nodeSelector }}
nodeSelector:
{{ toYaml . | indent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
{{ toYaml . }}
{{- end }}
{{- with .affinity }}
affinity:
{{ toYaml . | indent 2 }}
{{- end }}
{{- end -}}

{{/* ---------------------------------------------------------------- worker */}}

{{/* The pod's grace period: a task may run up to the hard time limit, then the soft shutdown
     re-queues what is left; the margin covers process exit. */}}
{{- define "docqueue.worker.terminationGracePeriodSeconds" -}}
{{- add .Values.config.taskTimeLimitSeconds .Values.worker.softShutdownTimeoutSeconds .Values.worker.terminationGraceExtraSeconds -}}
{{- end -}}

{{/* The queues the document worker consumes: worker.queues, plus the webhooks queue (callbacks) when no webhooks
     worker of its own delivers them. */}}
{{- define "docqueue.worker.queues" -}}
{{- $queues := .Values.worker.queues -}}
{{- if and (not .Values.webhooks.enabled) (not (has "callbacks" $queues)) -}}
{{- $queues = append $queues "callbacks" -}}
{{- end -}}
{{- toJson $queues -}}
{{- end -}}

{{/* The document worker Deployments: one consuming every queue, or (worker.bulk.separate) one
     for the bulk lane (documents.bulk: large uploads and the parts of split documents) and one
     for the rest, each scaled on its own lists. A list of {component, queues, minReplicas,
     maxReplicas}. */}}
{{- define "docqueue.worker.lanes" -}}
{{- $queues := include "docqueue.worker.queues" . | fromJsonArray -}}
{{- $scaling := .Values.worker.autoscaling -}}
{{- if and .Values.worker.bulk.separate (has "documents.bulk" $queues) -}}
{{- $rest := without $queues "documents.bulk" -}}
{{- $bulk := .Values.worker.bulk -}}
{{- toJson (list
  (dict "component" "worker" "queues" $rest "minReplicas" $scaling.minReplicas "maxReplicas" $scaling.maxReplicas)
  (dict "component" "worker-bulk" "queues" (list "documents.bulk") "minReplicas" $bulk.minReplicas "maxReplicas" $bulk.maxReplicas)) -}}
{{- else -}}
{{- toJson (list (dict "component" "worker" "queues" $queues "minReplicas" $scaling.minReplicas "maxReplicas" $scaling.maxReplicas)) -}}
{{- end -}}
{{- end -}}

{{/* The components of the document worker Deployments (for selectors that cover them all). */}}
{{- define "docqueue.worker.components" -}}
{{- $components := list -}}
{{- range $lane := include "docqueue.worker.lanes" . | fromJsonArray -}}
{{- $components = append $components $lane.component -}}
{{- end -}}
{{- toJson $components -}}
{{- end -}}

{{/* The Redis lists of some queues (and Celery's priority lists when counted). Call with
     (list $ queues). */}}
{{- define "docqueue.lane.lists" -}}
{{- $root := index . 0 -}}
{{- $lists := list -}}
{{- range $queue := index . 1 -}}
{{- $lists = append $lists $queue -}}
{{- if $root.Values.worker.autoscaling.keda.countPriorityLists -}}
{{- range $step := list 3 6 9 -}}
{{- $lists = append $lists (printf "%s\x06\x16%d" $queue $step) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $lists -}}
{{- end -}}

{{/* The Redis lists of the worker's queues (and Celery's priority lists when counted). */}}
{{- define "docqueue.worker.lists" -}}
{{- $lists := list -}}
{{- range $queue := include "docqueue.worker.queues" . | fromJsonArray -}}
{{- $lists = append $lists $queue -}}
{{- if $.Values.worker.autoscaling.keda.countPriorityLists -}}
{{- range $step := list 3 6 9 -}}
{{- $lists = append $lists (printf "%s\x06\x16%d" $queue $step) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $lists -}}
{{- end -}}

{{/* ---------------------------------------------------------------- checks */}}

{{- define "docqueue.validate" -}}
{{- $c := .Values.config -}}
{{- if le (int $c.taskTimeLimitSeconds) (int $c.taskSoftTimeLimitSeconds) -}}
{{- fail "config.taskTimeLimitSeconds must be larger than config.taskSoftTimeLimitSeconds" -}}
{{- end -}}
{{- if le (int $c.visibilityTimeoutSeconds) (add $c.taskTimeLimitSeconds $c.retryBackoffMaxSeconds | int) -}}
{{- fail "config.visibilityTimeoutSeconds must exceed taskTimeLimitSeconds + retryBackoffMaxSeconds, or a running task is delivered twice" -}}
{{- end -}}
{{- if and .Values.webhooks.enabled (has "callbacks" .Values.worker.queues) -}}
{{- fail "worker.queues must not include callbacks (the webhooks queue) while webhooks.enabled: the webhooks worker delivers them" -}}
{{- end -}}
{{- if and .Values.redis.enabled .Values.externalRedis.host -}}
{{- fail "set either redis.enabled or externalRedis.host, not both" -}}
{{- end -}}
{{- end -}}

{{- define "docqueue.flower.secretName" -}}
{{- default (include "docqueue.componentName" (list . "flower")) .Values.flower.auth.existingSecret -}}
{{- end -}}

{{/* ---------------------------------------------------------------- network policy rules */}}

{{/* Egress to Redis: our StatefulSet's pods, or the external Redis's port. */}}
{{- define "docqueue.np.redisEgress" -}}
{{- if .Values.redis.enabled -}}
- to:
    - podSelector:
        matchLabels:
          {{- include "docqueue.selectorLabels" (list . "redis") | nindent 10 }}
  ports:
    - port: 6379
      protocol: TCP
    {{- if eq (include "docqueue.redis.bundledSentinel" .) "true" }}
    - port: 26379
      protocol: TCP
    {{- end }}
{{- else if .Values.networkPolicy.externalRedisEgress -}}
{{ toYaml .Values.networkPolicy.externalRedisEgress }}
{{- else if eq (include "docqueue.redis.sentinel" .) "true" -}}
{{/* The sentinels' ports, and the Redis port the masters they name listen on. */}}
{{- $ports := list (toString .Values.externalRedis.port) -}}
{{- range $pair := include "docqueue.redis.sentinels" . | fromJsonArray }}{{ $ports = append $ports (index $pair 1) }}{{ end }}
- ports:
    {{- range $port := $ports | uniq }}
    - port: {{ $port | int }}
      protocol: TCP
    {{- end }}
{{- else -}}
- ports:
    - port: {{ .Values.externalRedis.port }}
      protocol: TCP
{{- end -}}
{{- end -}}

{{/* Egress to the blob store: nothing for redis (the Redis rule covers it) or file (a volume);
     for s3 networkPolicy.storageEgress, else the endpoint's port (443 for AWS) anywhere. */}}
{{- define "docqueue.np.storageEgress" -}}
{{- if .Values.networkPolicy.storageEgress -}}
{{ toYaml .Values.networkPolicy.storageEgress }}
{{- else if eq .Values.storage.type "s3" -}}
{{- $port := 443 -}}
{{- with .Values.storage.s3.endpoint -}}
{{- $u := urlParse . -}}
{{- if contains ":" $u.host }}{{ $port = (splitList ":" $u.host | last | int) }}{{ else if eq $u.scheme "http" }}{{ $port = 80 }}{{ end -}}
{{- end -}}
- ports:
    - port: {{ $port }}
      protocol: TCP
{{- end -}}
{{- end -}}
