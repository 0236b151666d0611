package httpx

import (
	"bytes"
	"encoding/json"
)

// MarshalOrdered writes a JSON object of n members in order, member(i) giving the i-th
// key and value, without HTML escaping: Django REST framework's serializers write keys
// in a declared order, and the dialects of Django platforms (Open edX, BrainSTEM)
// answer alike.
func MarshalOrdered(n int, member func(i int) (string, any)) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		key, value := member(i)
		k, err := MarshalUnescaped(key)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		v, err := MarshalUnescaped(value)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// MarshalUnescaped is encoding/json without HTML escaping, as Django REST framework
// writes: "<" stays "<".
func MarshalUnescaped(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
