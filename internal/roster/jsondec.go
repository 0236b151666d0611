package roster

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

var errProfileSyntax = errors.New("roster: profile is not a JSON object")

// UnmarshalProfile decodes a stored profile document, keeping numbers exact. It runs on
// every account read, so the common case, an object of strings, numbers and booleans,
// is parsed directly; nested values and escaped strings go to encoding/json.
func UnmarshalProfile(s []byte) (map[string]any, error) {
	p := objParser{b: s}
	p.ws()
	if p.i == len(p.b) {
		return map[string]any{}, nil
	}
	if !p.eat('{') {
		return nil, errProfileSyntax
	}
	m := make(map[string]any, 8)
	p.ws()
	if p.eat('}') {
		return m, p.end()
	}
	for {
		p.ws()
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		p.ws()
		if !p.eat(':') {
			return nil, errProfileSyntax
		}
		p.ws()
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		m[k] = v
		p.ws()
		if p.eat(',') {
			continue
		}
		if p.eat('}') {
			return m, p.end()
		}
		return nil, errProfileSyntax
	}
}

type objParser struct {
	b []byte
	i int
}

func (p *objParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *objParser) eat(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *objParser) end() error {
	p.ws()
	if p.i != len(p.b) {
		return errProfileSyntax
	}
	return nil
}

// str reads a string. Plain ones (no escapes, valid UTF-8) are sliced out directly.
func (p *objParser) str() (string, error) {
	if !p.eat('"') {
		return "", errProfileSyntax
	}
	start := p.i
	plain := true
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			raw := p.b[start:p.i]
			p.i++
			if plain && utf8.Valid(raw) {
				return string(raw), nil
			}
			var s string
			if err := json.Unmarshal(p.b[start-1:p.i], &s); err != nil {
				return "", err
			}
			return s, nil
		case c == '\\':
			plain = false
			p.i += 2
		case c < 0x20:
			return "", errProfileSyntax
		default:
			p.i++
		}
	}
	return "", errProfileSyntax
}

func (p *objParser) value() (any, error) {
	if p.i >= len(p.b) {
		return nil, errProfileSyntax
	}
	switch c := p.b[p.i]; {
	case c == '"':
		return p.str()
	case c == 't':
		return true, p.word("true")
	case c == 'f':
		return false, p.word("false")
	case c == 'n':
		return nil, p.word("null")
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c == '{' || c == '[':
		return p.nested()
	}
	return nil, errProfileSyntax
}

func (p *objParser) word(w string) error {
	if !bytes.HasPrefix(p.b[p.i:], []byte(w)) {
		return errProfileSyntax
	}
	p.i += len(w)
	return nil
}

// number reads a JSON number and keeps its text, as json.Decoder.UseNumber does.
func (p *objParser) number() (any, error) {
	start := p.i
	p.eat('-')
	digits := func() int {
		n := 0
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.eat('0') {
		// a leading zero stands alone
	} else if digits() == 0 {
		return nil, errProfileSyntax
	}
	if p.eat('.') && digits() == 0 {
		return nil, errProfileSyntax
	}
	if p.eat('e') || p.eat('E') {
		if !p.eat('+') {
			p.eat('-')
		}
		if digits() == 0 {
			return nil, errProfileSyntax
		}
	}
	return json.Number(p.b[start:p.i]), nil
}

// nested hands an object or array to encoding/json: they are rare in profiles.
func (p *objParser) nested() (any, error) {
	start, depth := p.i, 0
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case '"':
			if _, err := p.str(); err != nil {
				return nil, err
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				p.i++
				dec := json.NewDecoder(bytes.NewReader(p.b[start:p.i]))
				dec.UseNumber()
				var v any
				if err := dec.Decode(&v); err != nil {
					return nil, err
				}
				return v, nil
			}
		}
		p.i++
	}
	return nil, errProfileSyntax
}
