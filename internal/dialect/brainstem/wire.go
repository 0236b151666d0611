package brainstem

import (
	"bytes"
	"encoding/json"
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
	b := []byte{'{'}
	for i, m := range o {
		if i > 0 {
			b = append(b, ',')
		}
		k, _ := json.Marshal(m.k)
		b = append(append(b, k...), ':')
		v, err := encode(m.v)
		if err != nil {
			return nil, err
		}
		b = append(b, v...)
	}
	return append(b, '}'), nil
}

// encode is encoding/json without HTML escaping, as Django REST framework writes.
func encode(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := encode(v)
	if err != nil {
		b, status = []byte(`{"detail":"A server error occurred."}`), http.StatusInternalServerError
	}
	w.Header().Set("Vary", "Accept, Authorization")
	httpx.WriteJSONBytes(w, status, b)
}
