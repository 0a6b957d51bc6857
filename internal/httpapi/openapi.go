package httpapi

import (
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stewardhq/steward/internal/problem"
)

// The OpenAPI document is generated from the route table, so it cannot drift from it.

var (
	openAPIOnce sync.Once
	openAPIDoc  map[string]any
)

func (s *server) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	openAPIOnce.Do(func() { openAPIDoc = s.openAPI() })
	writeJSON(w, http.StatusOK, openAPIDoc)
}

var wildcard = regexp.MustCompile(`\{([a-z_]+)\}`)

func (s *server) openAPI() map[string]any {
	paths := map[string]map[string]any{}
	for _, rt := range s.routes() {
		op := map[string]any{
			"summary":     rt.Summary,
			"operationId": operationID(rt),
		}
		var params []any
		for _, m := range wildcard.FindAllStringSubmatch(rt.Path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, q := range rt.Query {
			params = append(params, map[string]any{"name": q.Name, "in": "query", "description": q.Description, "schema": map[string]any{"type": q.Type}})
		}
		if rt.write != nil || rt.stream != nil {
			params = append(params, map[string]any{"name": "Idempotency-Key", "in": "header",
				"description": "a retry with the same key and body returns the first answer and changes nothing",
				"schema":      map[string]any{"type": "string", "maxLength": 255}})
		}
		if params != nil {
			op["parameters"] = params
		}
		if rt.Request != nil {
			ct := "application/json"
			if rt.MaxBody == maxImportBody {
				ct = "application/x-ndjson"
			}
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{ct: map[string]any{"schema": schemaOf(reflect.TypeOf(rt.Request))}}}
		}
		status := rt.Status
		if status == 0 {
			status = http.StatusOK
		}
		ok := map[string]any{"description": http.StatusText(status)}
		if rt.Reply != nil {
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": schemaOf(reflect.TypeOf(rt.Reply))}}
		}
		responses := map[string]any{strconv.Itoa(status): ok, "default": map[string]any{
			"description": "an error, as RFC 9457 problem details",
			"content":     map[string]any{"application/problem+json": map[string]any{"schema": schemaOf(reflect.TypeOf(problem.Problem{}))}},
		}}
		op["responses"] = responses
		if !rt.Public {
			roles := make([]string, len(rt.Roles))
			for i, r := range rt.Roles {
				roles[i] = string(r)
			}
			op["security"] = []any{map[string]any{"bearer": []string{}}}
			op["x-roles"] = roles
		}
		if paths[rt.Path] == nil {
			paths[rt.Path] = map[string]any{}
		}
		paths[rt.Path][strings.ToLower(rt.Method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info":    map[string]any{"title": "Steward", "version": s.Version, "description": "Account governance: accounts, sanctions and the check API, bulk actions, notices and webhooks, end users' own view, and a verifiable audit log."},
		"paths":   paths,
		"components": map[string]any{"securitySchemes": map[string]any{
			"bearer": map[string]any{"type": "http", "scheme": "bearer", "description": "an API key from `steward keys create`"},
		}},
	}
}

func operationID(rt route) string {
	p := strings.NewReplacer("/", "_", "{", "", "}", "", ":", "_", ".", "_").Replace(strings.TrimPrefix(rt.Path, "/"))
	return strings.ToLower(rt.Method) + "_" + p
}

var timeType = reflect.TypeOf(time.Time{})

// schemaOf returns a JSON Schema for values of t as encoding/json writes them.
func schemaOf(t reflect.Type) map[string]any {
	if t == timeType {
		return map[string]any{"type": "string", "format": "date-time"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return schemaOf(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem())}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		props := map[string]any{}
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			props[name] = schemaOf(f.Type)
		}
		return map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	}
	return map[string]any{}
}
