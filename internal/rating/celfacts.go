package rating

import (
	"fmt"
	"maps"
	"math/big"
	"reflect"
	"slices"
	"time"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
)

// field is one field of a record type that CEL expressions can read.
type field struct {
	name string
	typ  *types.Type
	// from lists facts this one is derived from; they are recorded as
	// evidence with it.
	from []string
	// get returns the field's value from the Go value the record is built
	// from, or nil when it is unknown.
	get func(v any) any
}

// recordType is a read-only object type in CEL, such as the facts.
type recordType struct {
	name string
	// noun names a value of the type in errors, such as "line".
	noun   string
	typ    *types.Type
	fields []field
	byName map[string]*field
}

func newRecordType(name, noun string, fields []field) *recordType {
	rt := &recordType{name: name, noun: noun, typ: types.NewObjectType(name), fields: fields, byName: make(map[string]*field)}
	for i := range rt.fields {
		rt.byName[rt.fields[i].name] = &rt.fields[i]
	}
	return rt
}

// build converts the known fields of v into CEL values.
func (rt *recordType) build(v any) map[string]ref.Val {
	vals := make(map[string]ref.Val, len(rt.fields))
	for _, f := range rt.fields {
		if x := f.get(v); x != nil {
			vals[f.name] = celValue(x)
		}
	}
	return vals
}

func str(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func ratOrNil(r *big.Rat) any {
	if r == nil {
		return nil
	}
	return r
}

func intOrNil(i *int64) any {
	if i == nil {
		return nil
	}
	return *i
}

func floatOrNil(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

func timeOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return *t
}

func factsOf(v any) *Facts { return v.(*Facts) }

var (
	stringMap = types.NewMapType(types.StringType, types.StringType)

	lineType = newRecordType("waybill.rating.Line", "line", []field{
		{name: "line_id", typ: types.StringType, get: func(v any) any { return str(v.(*Line).ID) }},
		{name: "sku", typ: types.StringType, get: func(v any) any { return str(v.(*Line).SKU) }},
		{name: "quantity", typ: decimalType, get: func(v any) any { return ratOrNil(v.(*Line).Quantity) }},
		{name: "unit", typ: types.StringType, get: func(v any) any { return str(v.(*Line).Unit) }},
		{name: "delivered", typ: decimalType, get: func(v any) any { return ratOrNil(v.(*Line).Delivered) }},
		{name: "weight_kg", typ: decimalType, get: func(v any) any { return ratOrNil(v.(*Line).WeightKG) }},
	})

	exceptionType = newRecordType("waybill.rating.Exception", "exception", []field{
		{name: "id", typ: types.StringType, get: func(v any) any { return str(v.(*Exception).ID) }},
		{name: "category", typ: types.StringType, get: func(v any) any { return str(v.(*Exception).Category) }},
		{name: "status", typ: types.StringType, get: func(v any) any { return str(v.(*Exception).Status) }},
		{name: "reason_code", typ: types.StringType, get: func(v any) any { return str(v.(*Exception).ReasonCode) }},
	})

	reportedChargeType = newRecordType("waybill.rating.ReportedCharge", "reported charge", []field{
		{name: "code", typ: types.StringType, get: func(v any) any { return str(v.(*ReportedCharge).Code) }},
		{name: "type", typ: types.StringType, get: func(v any) any { return str(v.(*ReportedCharge).Type) }},
		{name: "description", typ: types.StringType, get: func(v any) any { return str(v.(*ReportedCharge).Description) }},
		{name: "amount", typ: decimalType, get: func(v any) any { return ratOrNil(v.(*ReportedCharge).Amount) }},
		{name: "currency", typ: types.StringType, get: func(v any) any { return str(v.(*ReportedCharge).Currency) }},
		{name: "quantity", typ: decimalType, get: func(v any) any { return ratOrNil(v.(*ReportedCharge).Quantity) }},
		{name: "unit", typ: types.StringType, get: func(v any) any { return str(v.(*ReportedCharge).Unit) }},
		{name: "invoice_number", typ: types.StringType, get: func(v any) any { return str(v.(*ReportedCharge).InvoiceNumber) }},
	})

	// factsType is the type of the CEL variable facts. Its fields are the
	// facts documented in the package comment, in that order.
	factsType = newRecordType("waybill.rating.Facts", "facts", []field{
		{name: "shipment_id", typ: types.StringType, get: func(v any) any { return str(factsOf(v).ShipmentID) }},
		{name: "customer_ref", typ: types.StringType, get: func(v any) any { return str(factsOf(v).CustomerRef) }},
		{name: "customer_name", typ: types.StringType, get: func(v any) any { return str(factsOf(v).CustomerName) }},
		{name: "carrier_ref", typ: types.StringType, get: func(v any) any { return str(factsOf(v).CarrierRef) }},
		{name: "carrier_scac", typ: types.StringType, get: func(v any) any { return str(factsOf(v).CarrierSCAC) }},
		{name: "vehicle_type", typ: types.StringType, get: func(v any) any { return str(factsOf(v).VehicleType) }},
		{name: "origin_country", typ: types.StringType, get: func(v any) any { return str(factsOf(v).Origin.Country) }},
		{name: "origin_postal_code", typ: types.StringType, get: func(v any) any { return str(factsOf(v).Origin.PostalCode) }},
		{name: "origin_region", typ: types.StringType, get: func(v any) any { return str(factsOf(v).Origin.Region) }},
		{name: "origin_city", typ: types.StringType, get: func(v any) any { return str(factsOf(v).Origin.City) }},
		{name: "origin_lat", typ: types.DoubleType, get: func(v any) any { return floatOrNil(factsOf(v).Origin.Lat) }},
		{name: "origin_lon", typ: types.DoubleType, get: func(v any) any { return floatOrNil(factsOf(v).Origin.Lon) }},
		{name: "destination_country", typ: types.StringType, get: func(v any) any { return str(factsOf(v).Destination.Country) }},
		{name: "destination_postal_code", typ: types.StringType, get: func(v any) any { return str(factsOf(v).Destination.PostalCode) }},
		{name: "destination_region", typ: types.StringType, get: func(v any) any { return str(factsOf(v).Destination.Region) }},
		{name: "destination_city", typ: types.StringType, get: func(v any) any { return str(factsOf(v).Destination.City) }},
		{name: "destination_lat", typ: types.DoubleType, get: func(v any) any { return floatOrNil(factsOf(v).Destination.Lat) }},
		{name: "destination_lon", typ: types.DoubleType, get: func(v any) any { return floatOrNil(factsOf(v).Destination.Lon) }},
		{name: "distance_km", typ: decimalType, from: []string{"origin_lat", "origin_lon", "destination_lat", "destination_lon"},
			get: func(v any) any { return ratOrNil(factsOf(v).DistanceKM) }},
		{name: "weight_kg", typ: decimalType, get: func(v any) any { return ratOrNil(factsOf(v).WeightKG) }},
		{name: "measured_weight_kg", typ: decimalType, get: func(v any) any { return ratOrNil(factsOf(v).MeasuredWeightKG) }},
		{name: "handling_units", typ: types.IntType, get: func(v any) any { return intOrNil(factsOf(v).HandlingUnits) }},
		{name: "handling_unit_type", typ: types.StringType, get: func(v any) any { return str(factsOf(v).HandlingUnitType) }},
		{name: "pallets", typ: types.IntType, get: func(v any) any { return intOrNil(factsOf(v).Pallets) }},
		{name: "line_count", typ: types.IntType, get: func(v any) any { return int64(len(factsOf(v).Lines)) }},
		{name: "lines", typ: types.NewListType(lineType.typ), get: func(v any) any { return factsOf(v).Lines }},
		{name: "loaded_at", typ: types.TimestampType, get: func(v any) any { return timeOrNil(factsOf(v).LoadedAt) }},
		{name: "departed_at", typ: types.TimestampType, get: func(v any) any { return timeOrNil(factsOf(v).DepartedAt) }},
		{name: "arrived_at", typ: types.TimestampType, get: func(v any) any { return timeOrNil(factsOf(v).ArrivedAt) }},
		{name: "delivered_at", typ: types.TimestampType, get: func(v any) any { return timeOrNil(factsOf(v).DeliveredAt) }},
		{name: "dwell_minutes", typ: types.IntType, from: []string{"arrived_at", "delivered_at"},
			get: func(v any) any { return intOrNil(factsOf(v).DwellMinutes) }},
		{name: "milestones", typ: types.NewMapType(types.StringType, types.TimestampType), get: func(v any) any { return factsOf(v).Milestones }},
		{name: "exceptions", typ: types.NewListType(exceptionType.typ), get: func(v any) any { return factsOf(v).Exceptions }},
		{name: "references", typ: stringMap, get: func(v any) any { return factsOf(v).References }},
		{name: "reported_charges", typ: types.NewListType(reportedChargeType.typ), get: func(v any) any { return factsOf(v).ReportedCharges }},
	})

	recordTypes = map[string]*recordType{
		factsType.name:          factsType,
		lineType.name:           lineType,
		exceptionType.name:      exceptionType,
		reportedChargeType.name: reportedChargeType,
	}
)

// celValue converts a fact's Go value to CEL. Collections are never nil in
// CEL: a nil slice or map becomes an empty one.
func celValue(x any) ref.Val {
	adapter := types.DefaultTypeAdapter
	switch v := x.(type) {
	case string:
		return types.String(v)
	case int64:
		return types.Int(v)
	case float64:
		return types.Double(v)
	case *big.Rat:
		return newDecimal(v)
	case time.Time:
		return types.Timestamp{Time: v}
	case map[string]string:
		return adapter.NativeToValue(nonNilMap(v))
	case map[string]time.Time:
		m := make(map[string]ref.Val, len(v))
		for k, t := range v {
			m[k] = types.Timestamp{Time: t}
		}
		return types.NewStringInterfaceMap(adapter, toAnyMap(m))
	case []Line:
		return recordList(lineType, v)
	case []Exception:
		return recordList(exceptionType, v)
	case []ReportedCharge:
		return recordList(reportedChargeType, v)
	}
	return types.NewErr("rating: no CEL form for %T", x)
}

func nonNilMap[V any](m map[string]V) map[string]V {
	if m == nil {
		return map[string]V{}
	}
	return m
}

func toAnyMap(m map[string]ref.Val) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func recordList[T any](rt *recordType, items []T) ref.Val {
	vals := make([]ref.Val, len(items))
	for i := range items {
		vals[i] = &record{typ: rt, vals: rt.build(&items[i])}
	}
	return types.NewRefValList(types.DefaultTypeAdapter, vals)
}

// usage records which facts an evaluation read, for evidence, and the
// first unknown fact it tried to read, for the error.
type usage struct {
	used    map[string]bool
	missing string
}

func (u *usage) read(name string, present bool) {
	if u == nil {
		return
	}
	if present {
		u.used[name] = true
	} else if u.missing == "" {
		u.missing = name
	}
}

// record is a read-only CEL object: the facts, or a line, exception or
// reported charge within them. Only the facts record has a usage.
type record struct {
	typ  *recordType
	vals map[string]ref.Val
	use  *usage
}

var (
	_ ref.Val            = (*record)(nil)
	_ traits.Indexer     = (*record)(nil)
	_ traits.FieldTester = (*record)(nil)
)

func (r *record) ConvertToNative(t reflect.Type) (any, error) {
	return nil, fmt.Errorf("%s cannot be converted to %v", r.typ.name, t)
}

func (r *record) ConvertToType(t ref.Type) ref.Val {
	switch t.TypeName() {
	case types.TypeType.TypeName():
		return r.typ.typ
	case r.typ.name:
		return r
	}
	return types.NewErr("type conversion error from %s to %s", r.typ.name, t.TypeName())
}

func (r *record) Equal(o ref.Val) ref.Val { return types.Bool(r == o) }
func (r *record) Type() ref.Type          { return r.typ.typ }
func (r *record) Value() any              { return r }

// Get reads a field by name, for dynamic access such as dyn(facts).x.
func (r *record) Get(key ref.Val) ref.Val {
	name, ok := key.(types.String)
	if !ok {
		return types.MaybeNoSuchOverloadErr(key)
	}
	v, err := r.field(string(name))
	if err != nil {
		return types.WrapErr(err)
	}
	return v
}

// IsSet reports whether a field is known, for has().
func (r *record) IsSet(key ref.Val) ref.Val {
	name, ok := key.(types.String)
	if !ok {
		return types.MaybeNoSuchOverloadErr(key)
	}
	if _, declared := r.typ.byName[string(name)]; !declared {
		return types.NewErr("no such field %q", string(name))
	}
	_, set := r.vals[string(name)]
	if set {
		r.use.read(string(name), true)
	}
	return types.Bool(set)
}

func (r *record) field(name string) (ref.Val, error) {
	if _, declared := r.typ.byName[name]; !declared {
		return nil, fmt.Errorf("no such field %q", name)
	}
	v, ok := r.vals[name]
	r.use.read(name, ok)
	if !ok {
		if r.typ == factsType {
			return nil, fmt.Errorf("fact %s is unknown (guard it with has(facts.%s))", name, name)
		}
		return nil, fmt.Errorf("%s field %s is unknown (guard it with has())", r.typ.noun, name)
	}
	return v, nil
}

// provider adds the record types to a CEL type provider.
type provider struct{ types.Provider }

func (p provider) FindStructType(name string) (*types.Type, bool) {
	if rt, ok := recordTypes[name]; ok {
		return types.NewTypeTypeWithParam(rt.typ), true
	}
	return p.Provider.FindStructType(name)
}

func (p provider) FindStructFieldNames(name string) ([]string, bool) {
	if rt, ok := recordTypes[name]; ok {
		names := make([]string, len(rt.fields))
		for i, f := range rt.fields {
			names[i] = f.name
		}
		return names, true
	}
	return p.Provider.FindStructFieldNames(name)
}

func (p provider) FindStructFieldType(name, fieldName string) (*types.FieldType, bool) {
	rt, ok := recordTypes[name]
	if !ok {
		return p.Provider.FindStructFieldType(name, fieldName)
	}
	f, ok := rt.byName[fieldName]
	if !ok {
		return nil, false
	}
	return &types.FieldType{
		Type: f.typ,
		IsSet: func(obj any) bool {
			r, ok := obj.(*record)
			if !ok {
				return false
			}
			_, set := r.vals[fieldName]
			if set {
				r.use.read(fieldName, true)
			}
			return set
		},
		GetFrom: func(obj any) (any, error) {
			r, ok := obj.(*record)
			if !ok {
				return nil, fmt.Errorf("no field %s on %T", fieldName, obj)
			}
			return r.field(fieldName)
		},
	}, true
}

func (p provider) NewValue(name string, fields map[string]ref.Val) ref.Val {
	if _, ok := recordTypes[name]; ok {
		return types.NewErr("%s cannot be created in an expression", name)
	}
	return p.Provider.NewValue(name, fields)
}

// evidence converts a CEL value back to plain Go for a charge's Facts:
// decimals become decimal text, records and maps map[string]any, lists
// []any.
func evidence(v ref.Val) any {
	switch x := v.(type) {
	case decimalVal:
		return formatDecimal(x.r)
	case types.String:
		return string(x)
	case types.Int:
		return int64(x)
	case types.Double:
		return float64(x)
	case types.Bool:
		return bool(x)
	case types.Timestamp:
		return x.Time.UTC()
	case *record:
		out := make(map[string]any, len(x.vals))
		for k, fv := range x.vals {
			out[k] = evidence(fv)
		}
		return out
	case traits.Mapper:
		out := make(map[string]any)
		for it := x.Iterator(); it.HasNext() == types.True; {
			k := it.Next()
			out[fmt.Sprint(k.Value())] = evidence(x.Get(k))
		}
		return out
	case traits.Lister:
		out := []any{}
		for it := x.Iterator(); it.HasNext() == types.True; {
			out = append(out, evidence(it.Next()))
		}
		return out
	}
	return v.Value()
}

// factNames returns the names of all facts, in documentation order.
func factNames() []string {
	names := make([]string, len(factsType.fields))
	for i, f := range factsType.fields {
		names[i] = f.name
	}
	return names
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
