{{/* Names, labels, image references and the edge → service map only: every other decision is made where the object is rendered. */}}

{{/* Chart name, at most 63 characters. */}}
{{- define "dlr.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-qualified name that prefixes every object; leaves room for the longest suffix ("-provider-callback"). */}}
{{- define "dlr.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 45 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 45 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 45 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Name of a component's objects: (dict "root" $ "component" "dispatch"). */}}
{{- define "dlr.componentName" -}}
{{- printf "%s-%s" (include "dlr.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* chart label value. */}}
{{- define "dlr.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels that select the release's pods: (dict "root" $). */}}
{{- define "dlr.releaseSelectorLabels" -}}
app.kubernetes.io/name: {{ include "dlr.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{/* Labels that select one component's pods: (dict "root" $ "component" "dispatch"). */}}
{{- define "dlr.selectorLabels" -}}
{{ include "dlr.releaseSelectorLabels" . }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Labels of every object of a component: (dict "root" $ "component" "dispatch"). */}}
{{- define "dlr.labels" -}}
{{ include "dlr.selectorLabels" . }}
helm.sh/chart: {{ include "dlr.chart" .root }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: delivery-reporting
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Reference of an image: (dict "root" $ "image" <registry, repository, tag, digest>); global.imageRegistry wins. */}}
{{- define "dlr.image" -}}
{{- $registry := default .image.registry .root.Values.global.imageRegistry -}}
{{- $ref := printf "%s/%s" $registry .image.repository | trimPrefix "/" -}}
{{- if .image.digest -}}
{{- printf "%s@%s" $ref .image.digest -}}
{{- else -}}
{{- printf "%s:%s" $ref (default .root.Chart.AppVersion .image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The service behind each public edge of ingress.edges (as YAML: fromYaml it). */}}
{{- define "dlr.edgeTargets" -}}
providerCallback: provider-callback
recipientLinks: feedback-link
reports: reporting
console: communication
{{- end -}}

{{/* "true" when edges are exposed (an Ingress or HTTPRoutes), else "". */}}
{{- define "dlr.edgesExposed" -}}
{{- if or .Values.ingress.enabled .Values.httpRoute.enabled }}true{{ end -}}
{{- end -}}
