package trackpage_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/waybill/waybill/internal/money"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/trackpage"
)

// ExampleNewView shows the JSON of a delivered shipment's tracking page:
// its charges, invoice and ids stay out.
func ExampleNewView() {
	at := func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }
	sh := &shipment.Shipment{
		ID:          "0193a6f2-7c1e-7b44-9a57-52d0c9a1e8f3",
		State:       shipment.Invoiced,
		Customer:    &shipment.Party{Ref: "odoo:res.partner/7", Name: "Acme Retail"},
		Origin:      &shipment.Location{Name: "WH Rotterdam", City: "Rotterdam", Country: "NL", Timezone: "Europe/Amsterdam"},
		Destination: &shipment.Location{AddressLines: []string{"Industriestrasse 9"}, City: "Duisburg", Country: "DE", Timezone: "Europe/Berlin"},
		References:  map[string]string{"bol": "BOL-550193", "odoo_picking": "WH/OUT/00412"},
		Milestones: []shipment.Milestone{
			{Type: "shipment.departed", At: at("2026-11-26T08:30:00Z"), EventID: "evt-1", Location: &shipment.Location{City: "Rotterdam", Country: "NL", Timezone: "Europe/Amsterdam"}},
			{Type: "shipment.delivered", At: at("2026-11-26T13:00:00Z"), EventID: "evt-2"},
		},
		POD:     &shipment.ProofOfDelivery{Signer: "K. Becker", SignedAt: at("2026-11-26T13:00:00Z"), EventID: "evt-2"},
		Charges: []shipment.Charge{{Code: "400", Amount: money.Money{Minor: 184250, Currency: "EUR"}, EventID: "evt-3"}},
		Invoice: &shipment.InvoiceRef{System: "odoo", ExternalID: "4471", Number: "INV/2026/00931"},
	}
	v := trackpage.NewView(sh, trackpage.ViewOptions{Location: time.UTC, Branding: map[string]trackpage.Brand{
		"odoo:res.partner/7": {Name: "Acme Freight Desk", PrimaryColor: "#0a3d62", AccentColor: "#f6b93b"}}})
	b, _ := json.MarshalIndent(v, "", "  ")
	fmt.Println(string(b))
	// Output:
	// {
	//   "reference": "BOL-550193",
	//   "status": "delivered",
	//   "status_text": "Delivered",
	//   "origin": {
	//     "city": "Rotterdam",
	//     "country": "NL"
	//   },
	//   "destination": {
	//     "city": "Duisburg",
	//     "country": "DE"
	//   },
	//   "milestones": [
	//     {
	//       "type": "shipment.departed",
	//       "text": "Departed",
	//       "at": {
	//         "at": "2026-11-26T09:30:00+01:00",
	//         "zone": "Europe/Amsterdam",
	//         "text": "Thu 26 Nov 2026, 09:30 CET"
	//       },
	//       "place": {
	//         "city": "Rotterdam",
	//         "country": "NL"
	//       }
	//     },
	//     {
	//       "type": "shipment.delivered",
	//       "text": "Delivered",
	//       "at": {
	//         "at": "2026-11-26T14:00:00+01:00",
	//         "zone": "Europe/Berlin",
	//         "text": "Thu 26 Nov 2026, 14:00 CET"
	//       }
	//     }
	//   ],
	//   "delivery": {
	//     "signer": "K. Becker",
	//     "signed_at": {
	//       "at": "2026-11-26T14:00:00+01:00",
	//       "zone": "Europe/Berlin",
	//       "text": "Thu 26 Nov 2026, 14:00 CET"
	//     }
	//   },
	//   "brand": {
	//     "name": "Acme Freight Desk",
	//     "primary_color": "#0a3d62",
	//     "accent_color": "#f6b93b"
	//   }
	// }
}
