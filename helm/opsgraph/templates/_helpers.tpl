{{/* Names, labels and the pieces every opsgraph pod shares. */}}

{{- define "opsgraph.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* <release>-opsgraph, or the release name alone when it already contains the chart name. */}}
{{- define "opsgraph.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* A component's resource name: <fullname>-<component> (every resource has a suffix, so
none collides with the Neo4j dependency's Services, which are named after the release). */}}
{{- define "opsgraph.componentName" -}}
{{- printf "%s-%s" (include "opsgraph.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "opsgraph.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "opsgraph.labels" -}}
helm.sh/chart: {{ include "opsgraph.chart" . }}
app.kubernetes.io/name: {{ include "opsgraph.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: opsgraph
{{- end }}

{{/* Selector labels of one component; call with (dict "root" $ "component" "server"). */}}
{{- define "opsgraph.selectorLabels" -}}
app.kubernetes.io/name: {{ include "opsgraph.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "opsgraph.componentLabels" -}}
{{ include "opsgraph.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "opsgraph.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "opsgraph.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "opsgraph.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* ---- store ---- */}}

{{- define "opsgraph.isSqlite" -}}
{{- if eq .Values.store.type "sqlite" }}true{{ end }}
{{- end }}

{{- define "opsgraph.storeUrl" -}}
{{- if eq .Values.store.type "sqlite" }}
{{- /* sqlite:/// + an absolute path gives the four slashes of an absolute file. */}}
{{- printf "sqlite:///%s/%s" (trimSuffix "/" .Values.store.sqlite.directory) .Values.store.sqlite.file }}
{{- else if .Values.store.neo4j.uri }}
{{- .Values.store.neo4j.uri }}
{{- else }}
{{- /* Neo4j's chart names its ClusterIP Service after the release. */}}
{{- printf "bolt://%s.%s.svc:7687" .Release.Name .Release.Namespace }}
{{- end }}
{{- end }}

{{- define "opsgraph.neo4jSecretName" -}}
{{- default (include "opsgraph.componentName" (dict "root" . "component" "neo4j-credentials")) .Values.store.neo4j.existingSecret }}
{{- end }}

{{- define "opsgraph.ticketingSecretName" -}}
{{- default (include "opsgraph.componentName" (dict "root" . "component" "ticketing")) .Values.ticketing.existingSecret }}
{{- end }}

{{- define "opsgraph.hasTicketingSecret" -}}
{{- if or .Values.ticketing.existingSecret .Values.ticketing.credentials }}true{{ end }}
{{- end }}

{{/* ---- configuration files (ConfigMaps) ---- */}}

{{/* The server's file settings: each NAME here has a values block NAME.content /
NAME.existingConfigMap, becomes ConfigMap <fullname>-NAME (key NAME.yaml) mounted at
/etc/opsgraph/NAME/, and is named to every opsgraph process as OPSGRAPH_<NAME>_FILE
(ServerSettings.<name>_file). A file setting added to the server adds its name here. */}}
{{- define "opsgraph.fileSettings" -}}rules routing policy receivers{{- end }}

{{/* "true" when file NAME is configured; call with (dict "root" $ "name" NAME). */}}
{{- define "opsgraph.hasFile" -}}
{{- $file := index .root.Values .name }}
{{- if or $file.content $file.existingConfigMap }}true{{ end }}
{{- end }}

{{- define "opsgraph.fileConfigMap" -}}
{{- $file := index .root.Values .name }}
{{- default (include "opsgraph.componentName" (dict "root" .root "component" .name)) $file.existingConfigMap }}
{{- end }}

{{- define "opsgraph.serviceModelConfigMap" -}}
{{- default (include "opsgraph.componentName" (dict "root" . "component" "service-model")) .Values.serviceModel.existingConfigMap }}
{{- end }}

{{- define "opsgraph.hasServiceModel" -}}
{{- if or .Values.serviceModel.content .Values.serviceModel.existingConfigMap }}true{{ end }}
{{- end }}

{{/* ---- environment ---- */}}

{{/* The OPSGRAPH_* variables of ServerSettings, for every opsgraph container. Secrets come
only through secretKeyRef; plain settings from .Values.settings (one key per field). */}}
{{- define "opsgraph.settingsEnv" -}}
- name: OPSGRAPH_STORE_URL
  value: {{ include "opsgraph.storeUrl" . | quote }}
{{- if eq .Values.store.type "neo4j" }}
- name: OPSGRAPH_NEO4J_USER
  valueFrom:
    secretKeyRef:
      name: {{ include "opsgraph.neo4jSecretName" . }}
      key: {{ .Values.store.neo4j.usernameKey }}
- name: OPSGRAPH_NEO4J_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "opsgraph.neo4jSecretName" . }}
      key: {{ .Values.store.neo4j.passwordKey }}
{{- with .Values.store.neo4j.database }}
- name: OPSGRAPH_NEO4J_DATABASE
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- /* `serve` delivers the outbox itself unless the dispatcher has its own Deployment. */}}
- name: OPSGRAPH_DISPATCH
  value: {{ (not .Values.dispatcher.separate) | toString | quote }}
{{- range $name := splitList " " (include "opsgraph.fileSettings" .) }}
{{- if include "opsgraph.hasFile" (dict "root" $ "name" $name) }}
- name: {{ printf "OPSGRAPH_%s_FILE" (upper $name) }}
  value: {{ printf "/etc/opsgraph/%s/%s.yaml" $name $name | quote }}
{{- end }}
{{- end }}
{{- range $key, $value := .Values.settings }}
{{- if not (kindIs "invalid" $value) }}
- name: {{ printf "OPSGRAPH_%s" (upper $key) }}
  {{- /* Lists as JSON; YAML numbers arrive as float64: whole ones as integers, not 1e+06. */}}
  {{- if or (kindIs "slice" $value) (kindIs "map" $value) }}
  value: {{ $value | toJson | quote }}
  {{- else if and (kindIs "float64" $value) (eq $value (floor $value)) }}
  value: {{ $value | int64 | toString | quote }}
  {{- else }}
  value: {{ $value | toString | quote }}
  {{- end }}
{{- end }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* envFrom of the roles that deliver to ticketing systems. */}}
{{- define "opsgraph.ticketingEnvFrom" -}}
{{- if include "opsgraph.hasTicketingSecret" . }}
envFrom:
  - secretRef:
      name: {{ include "opsgraph.ticketingSecretName" . }}
{{- end }}
{{- end }}

{{/* ---- volumes shared by the opsgraph roles ---- */}}

{{- define "opsgraph.configVolumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- range $name := splitList " " (include "opsgraph.fileSettings" .) }}
{{- if include "opsgraph.hasFile" (dict "root" $ "name" $name) }}
- name: {{ $name }}
  mountPath: /etc/opsgraph/{{ $name }}
  readOnly: true
{{- end }}
{{- end }}
{{- if include "opsgraph.hasServiceModel" . }}
- name: service-model
  mountPath: /etc/opsgraph/service-model
  readOnly: true
{{- end }}
{{- if include "opsgraph.isSqlite" . }}
- name: data
  mountPath: {{ .Values.store.sqlite.directory }}
{{- end }}
{{- end }}

{{- define "opsgraph.configVolumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- range $name := splitList " " (include "opsgraph.fileSettings" .) }}
{{- if include "opsgraph.hasFile" (dict "root" $ "name" $name) }}
- name: {{ $name }}
  configMap:
    name: {{ include "opsgraph.fileConfigMap" (dict "root" $ "name" $name) }}
{{- end }}
{{- end }}
{{- if include "opsgraph.hasServiceModel" . }}
- name: service-model
  configMap:
    name: {{ include "opsgraph.serviceModelConfigMap" . }}
{{- end }}
{{- if include "opsgraph.isSqlite" . }}
- name: data
  {{- if .Values.store.sqlite.persistence.enabled }}
  persistentVolumeClaim:
    claimName: {{ default (include "opsgraph.componentName" (dict "root" . "component" "data")) .Values.store.sqlite.persistence.existingClaim }}
  {{- else }}
  emptyDir: {}
  {{- end }}
{{- end }}
{{- end }}

{{/* Restart pods when the files they read change (ConfigMaps are mounted whole). */}}
{{- define "opsgraph.configChecksum" -}}
{{- $contents := list .Values.settings .Values.serviceModel.content }}
{{- range $name := splitList " " (include "opsgraph.fileSettings" .) }}
{{- $contents = append $contents (index $.Values $name).content }}
{{- end }}
checksum/config: {{ $contents | toJson | sha256sum }}
{{- end }}

{{- define "opsgraph.podSecurityContext" -}}
{{ toYaml .Values.podSecurityContext }}
{{- end }}

{{- define "opsgraph.securityContext" -}}
{{ toYaml .Values.securityContext }}
{{- end }}

{{/* ---- validation: fail early, with the fix in the message ---- */}}

{{- define "opsgraph.validate" -}}
{{- $type := .Values.store.type }}
{{- if not (has $type (list "sqlite" "neo4j")) }}
{{- fail (printf "store.type must be \"sqlite\" or \"neo4j\" (got %q)" $type) }}
{{- end }}
{{- range $key := list "store_url" "neo4j_user" "neo4j_password" "neo4j_database" }}
{{- if hasKey $.Values.settings $key }}
{{- fail (printf "settings.%s is set by the chart from store.*; remove it from settings" $key) }}
{{- end }}
{{- end }}
{{- range $name := splitList " " (include "opsgraph.fileSettings" .) }}
{{- if hasKey $.Values.settings (printf "%s_file" $name) }}
{{- fail (printf "settings.%s_file is set by the chart from %s.content or %s.existingConfigMap; remove it from settings" $name $name $name) }}
{{- end }}
{{- end }}
{{- if eq $type "sqlite" }}
{{- if not (hasPrefix "/" .Values.store.sqlite.directory) }}
{{- fail (printf "store.sqlite.directory must be an absolute path (got %q)" .Values.store.sqlite.directory) }}
{{- end }}
{{- $one := "store.type=sqlite keeps the CMDB in one file on one volume, so only one opsgraph pod may use it" }}
{{- if gt (int .Values.server.replicas) 1 }}
{{- fail (printf "%s: server.replicas must be 1 (got %d); use store.type=neo4j to run several replicas" $one (int .Values.server.replicas)) }}
{{- end }}
{{- if .Values.server.autoscaling.enabled }}
{{- fail (printf "%s: server.autoscaling.enabled needs store.type=neo4j" $one) }}
{{- end }}
{{- if .Values.dispatcher.separate }}
{{- fail (printf "%s: dispatcher.separate needs store.type=neo4j" $one) }}
{{- end }}
{{- if .Values.poller.enabled }}
{{- fail (printf "%s: poller.enabled needs store.type=neo4j" $one) }}
{{- end }}
{{- if .Values.neo4j.enabled }}
{{- fail "neo4j.enabled=true installs Neo4j for opsgraph: set store.type=neo4j too" }}
{{- end }}
{{- else }}
{{- if and .Values.neo4j.enabled .Values.store.neo4j.uri }}
{{- fail "store.neo4j.uri names an external Neo4j, neo4j.enabled=true installs one: choose one" }}
{{- end }}
{{- if and (not .Values.neo4j.enabled) (not .Values.store.neo4j.uri) }}
{{- fail "store.type=neo4j needs store.neo4j.uri (an external Neo4j or Aura) or neo4j.enabled=true" }}
{{- end }}
{{- if and (not .Values.store.neo4j.existingSecret) (not .Values.store.neo4j.password) }}
{{- fail "store.type=neo4j needs credentials: store.neo4j.existingSecret (preferred) or store.neo4j.password" }}
{{- end }}
{{- if and .Values.neo4j.enabled (or (not .Values.store.neo4j.existingSecret) (ne .Values.store.neo4j.existingSecret .Values.neo4j.neo4j.passwordFromSecret)) }}
{{- fail "neo4j.enabled=true needs one Secret with NEO4J_AUTH, username and password, named in both store.neo4j.existingSecret and neo4j.neo4j.passwordFromSecret (docs/deployment.md)" }}
{{- end }}
{{- end }}
{{- if and .Values.agent.enabled (not .Values.agent.tokenSecret) }}
{{- fail "agent.enabled=true needs agent.tokenSecret: a Secret with one agent token per node name (docs/deployment.md)" }}
{{- end }}
{{- if and .Values.poller.traps.enabled (not .Values.poller.enabled) }}
{{- fail "poller.traps.enabled=true needs poller.enabled=true (the poller pod receives the traps)" }}
{{- end }}
{{- end }}
