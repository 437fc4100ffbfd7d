// Package rpcproxy is a CometBFT JSON-RPC proxy that can rewrite the
// answers of abci_query, for tests of clients that must not believe a lying
// RPC (docs/spec.md §6 Verified reads). It is fault injection, not a
// production component.
package rpcproxy

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
)

// Answer is one abci_query answer as the proxy hands it to a Rewrite.
type Answer struct {
	Path   string // the query path
	Value  []byte // the decoded value (JSON for zgda's queries)
	Height int64
	Code   uint32
}

// Rewrite changes an answer in place.
type Rewrite func(a *Answer)

// Proxy forwards JSON-RPC posts to Target and, while a Rewrite is set,
// passes each abci_query answer through it.
type Proxy struct {
	Target  string // http://host:port of the real RPC
	rewrite atomic.Pointer[Rewrite]
}

// Set installs f (nil: answers pass unchanged).
func (p *Proxy) Set(f Rewrite) {
	if f == nil {
		p.rewrite.Store(nil)
		return
	}
	p.rewrite.Store(&f)
}

// EditJSON is a Rewrite that applies edit to the JSON object answered on
// path (other paths, and values that are not objects, pass unchanged).
func EditJSON(path string, edit func(m map[string]any)) Rewrite {
	return func(a *Answer) {
		if a.Path != path {
			return
		}
		var m map[string]any
		if json.Unmarshal(a.Value, &m) != nil {
			return
		}
		edit(m)
		a.Value, _ = json.Marshal(m)
	}
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var call struct {
		Method string `json:"method"`
		Params struct {
			Path string `json:"path"`
		} `json:"params"`
	}
	json.Unmarshal(body, &call)
	resp, err := http.Post(p.Target, "application/json", bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if f := p.rewrite.Load(); f != nil && call.Method == "abci_query" {
		out = rewriteAnswer(out, call.Params.Path, *f)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(out)
}

func rewriteAnswer(raw []byte, path string, f Rewrite) []byte {
	var env map[string]any
	if json.Unmarshal(raw, &env) != nil {
		return raw
	}
	res, _ := env["result"].(map[string]any)
	rr, _ := res["response"].(map[string]any)
	if rr == nil {
		return raw
	}
	s, _ := rr["value"].(string)
	val, _ := base64.StdEncoding.DecodeString(s)
	hs, _ := rr["height"].(string)
	h, _ := strconv.ParseInt(hs, 10, 64)
	code, _ := rr["code"].(float64)
	a := &Answer{Path: path, Value: val, Height: h, Code: uint32(code)}
	f(a)
	rr["value"] = base64.StdEncoding.EncodeToString(a.Value)
	rr["height"] = strconv.FormatInt(a.Height, 10)
	if a.Code != 0 {
		rr["code"] = a.Code
		if rr["codespace"] == nil || rr["codespace"] == "" {
			rr["codespace"] = "zgda"
		}
	} else {
		delete(rr, "code")
	}
	out, err := json.Marshal(env)
	if err != nil {
		return raw
	}
	return out
}
