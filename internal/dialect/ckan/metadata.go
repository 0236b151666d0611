package ckan

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/rosterhq/roster/internal/roster"
)

// writeOnly is the value of a write-only column (password, apikey): the column exists
// and can be written, but its value is never returned.
var writeOnly = obj{{"write_only", true}}

// userMetadata is EDX's stats collection: for each requested id (numeric id, UUID or
// username), an object holding exactly the requested columns, in the order asked, one
// per id and in the order of ids. An id that names no account gets an object holding
// only "__error", a CKAN Not Found error naming it. Who may call it is the core's
// policy for this surface (system administrators).
func (h *Handler) userMetadata(ctx context.Context, data map[string]any) (any, error) {
	if err := h.dir.Authorize(ctx, "user_metadata"); err != nil {
		if roster.ErrorCode(err) == roster.EUNAUTHENTICATED {
			return nil, denied("Action user_metadata requires an authenticated user")
		}
		return nil, denied("")
	}
	sch, err := h.dir.Schema(ctx)
	if err != nil {
		return nil, err
	}
	star, err := h.dir.SurfaceList(ctx, "user_metadata")
	if err != nil {
		return nil, err
	}
	ids := list(data["ids"])
	fieldsParam, ok := data["fields"]
	if !ok {
		fieldsParam = data["field"] // the EDX documentation's parameter table names it so
	}
	requested := list(fieldsParam)
	var probs obj
	if len(ids) == 0 {
		probs = append(probs, kv{"ids", []string{"Missing value"}})
	}
	if len(requested) == 0 {
		probs = append(probs, kv{"fields", []string{"Missing value"}})
	}
	var fields []string
	var unknown []string
	for _, f := range requested {
		switch {
		case f == "*":
			for _, a := range star {
				if c := a.WireName("ckan"); c != "" && !slices.Contains(fields, c) {
					fields = append(fields, c)
				}
			}
		case sch.ByWireName("ckan", f) == nil:
			unknown = append(unknown, f)
		case !slices.Contains(fields, f):
			fields = append(fields, f)
		}
	}
	if len(unknown) > 0 {
		probs = append(probs, kv{"fields", []string{"Unknown field(s): " + strings.Join(unknown, ", ")}})
	}
	if len(probs) > 0 {
		return nil, invalid(probs)
	}
	attrs := make([]*roster.Attribute, len(fields))
	for i, f := range fields {
		attrs[i] = sch.ByWireName("ckan", f)
	}
	refs := make([]roster.AccountRef, len(ids))
	for i, id := range ids {
		refs[i] = roster.ParseAccountRef(id)
	}
	recs, err := h.dir.GetAccounts(ctx, refs, roster.ReadOptions{})
	if err != nil {
		return nil, err
	}
	return stream(func(emit func(any) error) error {
		for i, rec := range recs {
			if err := emit(h.metadataRow(ids[i], rec, fields, attrs)); err != nil {
				return err
			}
		}
		return nil
	}), nil
}

func (h *Handler) metadataRow(id string, rec *roster.Record, fields []string, attrs []*roster.Attribute) obj {
	if rec == nil {
		return obj{{"__error", obj{{"__type", "Not Found Error"}, {"message", fmt.Sprintf("Not found: User %q was not found.", id)}, {"id", id}}}}
	}
	row := make(obj, len(fields))
	for i, f := range fields {
		a := attrs[i]
		var v any
		switch {
		case a.Storage == roster.StoreSecret:
			v = writeOnly
		case a.Name == "uuid":
			v = rec.UUID
		case a.Name == "username":
			v = rec.Username
		default:
			v, _ = rec.Get(a.Name)
		}
		row[i] = kv{f, v}
	}
	return row
}
