package brainstem

import (
	"net/http"

	"github.com/rosterhq/roster/internal/httpx"
)

// BrainSTEM answers through Django REST framework's JSON renderer: compact, UTF-8 as is,
// keys in the serializer's order, which an ordered object keeps.

type kv struct {
	k string
	v any
}

type obj []kv

func (o obj) MarshalJSON() ([]byte, error) {
	return httpx.MarshalOrdered(len(o), func(i int) (string, any) { return o[i].k, o[i].v })
}

// encode is encoding/json without HTML escaping, as Django REST framework writes.
func encode(v any) ([]byte, error) { return httpx.MarshalUnescaped(v) }

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := encode(v)
	if err != nil {
		b, status = []byte(`{"detail":"A server error occurred."}`), http.StatusInternalServerError
	}
	w.Header().Set("Vary", "Accept, Authorization")
	httpx.WriteJSONBytes(w, status, b)
}
