package event

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func TestCloudEventMarshal(t *testing.T) {
	t.Parallel()
	amsterdam := time.FixedZone("CET", 3600)
	at := time.Date(2025, 11, 12, 13, 5, 0, 120_000_000, time.UTC)

	tests := []struct {
		name string
		ev   CloudEvent
		want string
	}{
		{
			name: "utc with fraction",
			ev: CloudEvent{ID: "picking-42-planned", Source: "odoo", Type: ShipmentCancelled, Subject: "odoo:WH/OUT/00012",
				Time: at, Data: ShipmentCancelledData{Reason: "cancelled in Odoo"}},
			want: `{"specversion":"1.0","id":"picking-42-planned","source":"odoo","type":"shipment.cancelled","subject":"odoo:WH/OUT/00012",` +
				`"time":"2025-11-12T13:05:00.12Z","datacontenttype":"application/json","data":{"reason":"cancelled in Odoo"}}`,
		},
		{
			name: "zone kept, correlation and trace",
			ev: CloudEvent{ID: "1", Source: "/sources/dhl", Type: ShipmentInvoiced, Subject: "s", Time: at.Truncate(time.Second).In(amsterdam),
				CorrelationID: "c-1", TraceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
				Data: &ShipmentInvoicedData{System: "odoo", InvoiceID: "7"}},
			want: `{"specversion":"1.0","id":"1","source":"/sources/dhl","type":"shipment.invoiced","subject":"s",` +
				`"time":"2025-11-12T14:05:00+01:00","datacontenttype":"application/json","correlationid":"c-1",` +
				`"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","data":{"system":"odoo","invoice_id":"7"}}`,
		},
		{
			name: "bytes are json, not base64",
			ev:   CloudEvent{ID: "1", Source: "x", Type: ShipmentArrived, Subject: "s", Time: at, Data: []byte(`{"location":{"city":"Utrecht"}}`)},
			want: `{"specversion":"1.0","id":"1","source":"x","type":"shipment.arrived","subject":"s","time":"2025-11-12T13:05:00.12Z","datacontenttype":"application/json","data":{"location":{"city":"Utrecht"}}}`,
		},
		{
			name: "raw data",
			ev:   CloudEvent{ID: "1", Source: "x", Type: ShipmentArrived, Subject: "s", Time: at, Data: json.RawMessage(`{}`)},
			want: `{"specversion":"1.0","id":"1","source":"x","type":"shipment.arrived","subject":"s","time":"2025-11-12T13:05:00.12Z","datacontenttype":"application/json","data":{}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.ev.MarshalJSON()
			if err != nil {
				t.Fatalf("MarshalJSON() error: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("MarshalJSON() =\n%s\nwant\n%s", got, tt.want)
			}
			viaJSON, err := json.Marshal(tt.ev)
			if err != nil || string(viaJSON) != tt.want {
				t.Errorf("json.Marshal() = %s, %v, want the same as MarshalJSON", viaJSON, err)
			}
		})
	}
}

func TestCloudEventIncomplete(t *testing.T) {
	t.Parallel()
	full := CloudEvent{ID: "1", Source: "x", Type: ShipmentArrived, Subject: "s", Time: time.Unix(1, 0)}
	for name, mutate := range map[string]func(*CloudEvent){
		"no id":     func(e *CloudEvent) { e.ID = "" },
		"no source": func(e *CloudEvent) { e.Source = "" },
		"no type":   func(e *CloudEvent) { e.Type = "" },
		"no time":   func(e *CloudEvent) { e.Time = time.Time{} },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ev := full
			mutate(&ev)
			if _, err := ev.MarshalJSON(); !errors.Is(err, ErrIncomplete) {
				t.Errorf("MarshalJSON() error = %v, want ErrIncomplete", err)
			}
		})
	}
}
