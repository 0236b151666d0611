package ckan

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/rosterhq/roster/internal/roster"
)

// Columns are the user_metadata columns of the EDX documentation, in its order; "*"
// selects them all. Any other attribute with a CKAN name may be asked for by name.
var Columns = []string{"state", "name", "id", "apikey", "about", "password", "fullname", "email", "sysadmin",
	"user_reviewed", "poc", "poc_email", "user_deactivated", "doe_affiliation", "affiliation_type", "organization",
	"occupation", "phone", "reason_for_suspension", "suspension_automated", "duid", "orcid"}

// writeOnly is the value of a write-only column (password, apikey): the column exists
// and can be written, but its value is never returned.
var writeOnly = obj{{"write_only", true}}

// userMetadata is EDX's stats collection: for each requested id (numeric id, UUID or
// username), an object holding exactly the requested columns, in the order asked, one
// per id and in the order of ids. An id that names no account gets an object holding
// only "__error", a CKAN Not Found error naming it. System administrators only.
func (h *Handler) userMetadata(ctx context.Context, data map[string]any) (any, error) {
	if err := h.dir.RequireSysadmin(ctx); err != nil {
		if roster.ErrorCode(err) == roster.EUNAUTHENTICATED {
			return nil, denied("Action user_metadata requires an authenticated user")
		}
		return nil, denied("")
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
			for _, c := range Columns {
				if !slices.Contains(fields, c) {
					fields = append(fields, c)
				}
			}
		case h.dir.Schema().ByWireName("ckan", f) == nil:
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
		attrs[i] = h.dir.Schema().ByWireName("ckan", f)
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
		case f == "id":
			v = rec.UUID
		case f == "name":
			v = rec.Username
		default:
			v, _ = rec.Get(a.Name)
		}
		row[i] = kv{f, v}
	}
	return row
}
