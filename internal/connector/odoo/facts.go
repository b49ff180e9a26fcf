package odoo

import "sync"

// pickingFacts remembers what does not change about a picking once Odoo
// has shown it, so operations that only need those facts skip a read: its
// name, its sale order, and that it is done. Odoo keeps a picking's name
// and sale order for its life, and done is final: a done picking can be
// neither cancelled, set back to draft nor deleted (16–19). Every picking
// the client reads is remembered, the poller's included. It forgets
// everything once it holds pickingFactsMax pickings, which only costs a
// read each.
type pickingFacts struct {
	mu     sync.Mutex
	byID   map[int]pickingFact
	byName map[string]int
}

type pickingFact struct {
	name string
	sale Many2One
	done bool
}

const pickingFactsMax = 20000

// learn remembers picking p as read from Odoo.
func (f *pickingFacts) learn(p Picking) {
	if p.ID <= 0 || p.Name == "" {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.byID == nil || len(f.byID) >= pickingFactsMax {
		f.byID, f.byName = map[int]pickingFact{}, map[string]int{}
	}
	old, seen := f.byID[p.ID]
	if seen && old.name != p.Name {
		delete(f.byName, old.name)
		old = pickingFact{}
	}
	fact := pickingFact{name: p.Name, sale: old.sale, done: old.done || p.State == PickingDone}
	if p.Sale != nil {
		fact.sale = Many2One{ID: p.Sale.ID, Name: p.Sale.Name}
	}
	f.byID[p.ID] = fact
	f.byName[p.Name] = p.ID
}

// done remembers that picking id is done.
func (f *pickingFacts) markDone(id int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fact, ok := f.byID[id]; ok {
		fact.done = true
		f.byID[id] = fact
	}
}

// named returns the id of the picking named name, if known.
func (f *pickingFacts) named(name string) (int, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.byName[name]
	return id, ok
}

// of returns what is known of picking id.
func (f *pickingFacts) of(id int) (pickingFact, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fact, ok := f.byID[id]
	return fact, ok
}

// forget drops picking id, which Odoo no longer has.
func (f *pickingFacts) forget(id int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fact, ok := f.byID[id]; ok {
		delete(f.byName, fact.name)
		delete(f.byID, id)
	}
}
