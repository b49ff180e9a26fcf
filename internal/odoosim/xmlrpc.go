package odoosim

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// errMarshalNone is Python's xmlrpc refusal of None (the transaction has committed by then).
var errMarshalNone = errors.New("cannot marshal None unless allow_none is enabled")

// serveXMLRPC answers POST /xmlrpc/2/{common,object,db} like Odoo's XML-RPC controller.
func (s *Sim) serveXMLRPC(w http.ResponseWriter, r *http.Request) {
	service := strings.TrimPrefix(r.URL.Path, "/xmlrpc/2/")
	if r.Method != http.MethodPost || (service != "common" && service != "object" && service != "db") {
		writeHTML(w, http.StatusNotFound, notFoundHTML)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		writeXMLFault(w, 1, err.Error())
		return
	}
	meth, args, err := parseMethodCall(body)
	if err != nil {
		writeXMLFault(w, 1, "Traceback (most recent call last):\nxml.parsers.expat.ExpatError: "+err.Error())
		return
	}
	model, mname := service, meth
	if service == "object" && len(args) >= 5 {
		model, _ = args[3].(string)
		mname, _ = args[4].(string)
	}
	if !s.wait(r) {
		return
	}
	s.count(model + "." + mname)
	fault := s.faults.take(model, mname)
	if preFault(w, fault) {
		return
	}
	if fault == FaultSerialization {
		writeXMLFault(w, 1, "Traceback (most recent call last):\n"+excSerialization+": "+serializationError().Message)
		return
	}
	res, err := s.dispatchService(service, meth, args)
	if fault == FaultDropAfterCommit {
		abort(w)
		return
	}
	if err != nil {
		oe := asOdooError(err)
		code := 1
		msg := "Traceback (most recent call last):\n  File \"odoosim\", line 1, in <module>\n" + oe.Name + ": " + oe.Message
		switch oe.Name {
		case excUserError, excValidationError, excMissingError:
			code, msg = 2, oe.Message
		case excAccessDenied:
			code, msg = 3, oe.Message
		case excAccessError:
			code, msg = 4, oe.Message
		}
		writeXMLFault(w, code, msg)
		return
	}
	var b bytes.Buffer
	b.WriteString("<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n")
	if err := writeXMLValue(&b, res); err != nil {
		writeXMLFault(w, 1, "Traceback (most recent call last):\nTypeError: "+err.Error())
		return
	}
	b.WriteString("\n</param>\n</params>\n</methodResponse>\n")
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.Bytes())
}

func writeXMLFault(w http.ResponseWriter, code int, msg string) {
	var b bytes.Buffer
	b.WriteString("<?xml version='1.0'?>\n<methodResponse>\n<fault>\n")
	_ = writeXMLValue(&b, newOmap().set("faultCode", code).set("faultString", msg))
	b.WriteString("\n</fault>\n</methodResponse>\n")
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.Bytes())
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// writeXMLValue marshals like Python's xmlrpc.client with allow_none=False.
func writeXMLValue(b *bytes.Buffer, v any) error {
	if m, ok := v.(map[string]any); ok {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		om := newOmap()
		for _, k := range keys {
			om.set(k, m[k])
		}
		v = om
	}
	b.WriteString("<value>")
	defer b.WriteString("</value>")
	switch x := v.(type) {
	case nil:
		return errMarshalNone
	case bool:
		if x {
			b.WriteString("<boolean>1</boolean>")
		} else {
			b.WriteString("<boolean>0</boolean>")
		}
	case int:
		if x > math.MaxInt32 || x < math.MinInt32 {
			return fmt.Errorf("int exceeds XML-RPC limits")
		}
		fmt.Fprintf(b, "<int>%d</int>", x)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) <= math.MaxInt32 {
			fmt.Fprintf(b, "<int>%d</int>", int(x))
		} else {
			fmt.Fprintf(b, "<double>%s</double>", strconv.FormatFloat(x, 'f', -1, 64))
		}
	case pyFloat:
		out, _ := x.MarshalJSON()
		fmt.Fprintf(b, "<double>%s</double>", out)
	case string:
		fmt.Fprintf(b, "<string>%s</string>", xmlEscape(x))
	case []int:
		b.WriteString("<array><data>\n")
		for _, e := range x {
			fmt.Fprintf(b, "<value><int>%d</int></value>\n", e)
		}
		b.WriteString("</data></array>")
	case []any:
		b.WriteString("<array><data>\n")
		for _, e := range x {
			if err := writeXMLValue(b, e); err != nil {
				return err
			}
			b.WriteString("\n")
		}
		b.WriteString("</data></array>")
	case *omap:
		b.WriteString("<struct>\n")
		for _, k := range x.keys {
			fmt.Fprintf(b, "<member>\n<name>%s</name>\n", xmlEscape(k))
			if err := writeXMLValue(b, x.vals[k]); err != nil {
				return err
			}
			b.WriteString("\n</member>\n")
		}
		b.WriteString("</struct>")
	default:
		return fmt.Errorf("cannot marshal %T objects", v)
	}
	return nil
}

// xnode is a parsed XML element.
type xnode struct {
	name string
	text string
	kids []*xnode
}

func parseXML(data []byte) (*xnode, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	var stack []*xnode
	var root *xnode
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			n := &xnode{name: tk.Name.Local}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			} else if root == nil {
				root = n
			}
			stack = append(stack, n)
			if len(stack) > 64 {
				return nil, errors.New("document too deep")
			}
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(tk)
			}
		}
	}
	if root == nil {
		return nil, errors.New("no element found: line 1, column 0")
	}
	return root, nil
}

func (n *xnode) child(name string) *xnode {
	for _, k := range n.kids {
		if k.name == name {
			return k
		}
	}
	return nil
}

func parseMethodCall(data []byte) (string, []any, error) {
	root, err := parseXML(data)
	if err != nil {
		return "", nil, err
	}
	if root.name != "methodCall" {
		return "", nil, fmt.Errorf("unexpected element %s", root.name)
	}
	mn := root.child("methodName")
	if mn == nil {
		return "", nil, errors.New("missing methodName")
	}
	var args []any
	if ps := root.child("params"); ps != nil {
		for _, p := range ps.kids {
			if v := p.child("value"); v != nil {
				x, err := xmlValue(v)
				if err != nil {
					return "", nil, err
				}
				args = append(args, x)
			}
		}
	}
	return strings.TrimSpace(mn.text), args, nil
}

// xmlValue decodes a <value> into the JSON-decoded form the dispatcher expects.
func xmlValue(v *xnode) (any, error) {
	if len(v.kids) == 0 {
		return v.text, nil
	}
	k := v.kids[0]
	t := strings.TrimSpace(k.text)
	switch k.name {
	case "int", "i4", "i8":
		i, err := strconv.ParseInt(t, 10, 64)
		return float64(i), err
	case "boolean":
		return t == "1", nil
	case "double":
		return strconv.ParseFloat(t, 64)
	case "string", "dateTime.iso8601":
		return k.text, nil
	case "base64":
		raw, err := base64.StdEncoding.DecodeString(t)
		return string(raw), err
	case "nil":
		return nil, nil
	case "array":
		out := []any{}
		if d := k.child("data"); d != nil {
			for _, e := range d.kids {
				x, err := xmlValue(e)
				if err != nil {
					return nil, err
				}
				out = append(out, x)
			}
		}
		return out, nil
	case "struct":
		out := map[string]any{}
		for _, m := range k.kids {
			name, val := m.child("name"), m.child("value")
			if name == nil || val == nil {
				continue
			}
			x, err := xmlValue(val)
			if err != nil {
				return nil, err
			}
			out[name.text] = x
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown XML-RPC type %s", k.name)
}
