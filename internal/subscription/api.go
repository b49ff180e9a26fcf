package subscription

import (
	"context"
	"time"
)

// Create stores a new subscription for a caller owning owner (a
// customer's key; "" for the operator's) and returns it with its signing
// secret, which is shown only now.
func (s *Service) Create(ctx context.Context, owner string, sub *Subscription) (*Subscription, string, error) {
	if err := s.opts.Targets.check(sub, owner); err != nil {
		return nil, "", err
	}
	now := time.Now().UTC()
	secret := NewSecret()
	sub.ID, sub.Enabled, sub.DisabledReason, sub.FailingSince = newID(), true, "", nil
	sub.CreatedAt, sub.UpdatedAt = now, now
	sub.secrets = []Secret{{Secret: secret}}
	if err := s.st.insert(ctx, sub); err != nil {
		return nil, "", err
	}
	s.touch(ctx)
	return sub, secret, nil
}

// Get returns subscription id, if owner may see it.
func (s *Service) Get(ctx context.Context, owner, id string) (*Subscription, error) {
	return s.st.get(ctx, id, owner)
}

// List returns the subscriptions owner may see: a customer's own, or all
// for the operator.
func (s *Service) List(ctx context.Context, owner string) ([]*Subscription, error) {
	return s.st.list(ctx, owner)
}

// Patch is a change to a subscription: the fields set replace its own.
type Patch struct {
	URL         *string   `json:"url,omitempty"`
	EventTypes  *[]string `json:"event_types,omitempty"`
	Filter      *Filter   `json:"filter,omitempty"`
	Description *string   `json:"description,omitempty"`
	Redact      *[]string `json:"redact,omitempty"`
	RateLimit   *float64  `json:"rate_limit,omitempty"`
	// Enabled turns the subscription on or off. Enabling one Waybill
	// disabled sends what waits for it; replay sends what it missed.
	Enabled *bool `json:"enabled,omitempty"`
}

// Update applies p to subscription id.
func (s *Service) Update(ctx context.Context, owner, id string, p *Patch) (*Subscription, error) {
	sub, err := s.st.get(ctx, id, owner)
	if err != nil {
		return nil, err
	}
	if p.URL != nil {
		sub.URL = *p.URL
	}
	if p.EventTypes != nil {
		sub.EventTypes = *p.EventTypes
	}
	if p.Filter != nil {
		sub.Filter = *p.Filter
	}
	if p.Description != nil {
		sub.Description = *p.Description
	}
	if p.Redact != nil {
		sub.Redact = *p.Redact
	}
	if p.RateLimit != nil {
		sub.RateLimit = *p.RateLimit
	}
	if p.Enabled != nil {
		sub.Enabled = *p.Enabled
		if sub.Enabled {
			sub.DisabledReason, sub.FailingSince = "", nil
		} else {
			sub.DisabledReason = "disabled by its owner"
		}
	}
	if err := s.opts.Targets.check(sub, owner); err != nil {
		return nil, err
	}
	sub.UpdatedAt = time.Now().UTC()
	if err := s.st.update(ctx, sub); err != nil {
		return nil, err
	}
	s.touch(ctx)
	return sub, nil
}

// Delete removes subscription id and what waits for it.
func (s *Service) Delete(ctx context.Context, owner, id string) error {
	if _, err := s.st.get(ctx, id, owner); err != nil {
		return err
	}
	if err := s.st.delete(ctx, id); err != nil {
		return err
	}
	s.touch(ctx)
	return nil
}

// RotateSecret gives subscription id a new signing secret and returns it.
// The previous ones keep signing beside it for the secret overlap, so the
// receiver can switch without losing a delivery.
func (s *Service) RotateSecret(ctx context.Context, owner, id string) (string, time.Time, error) {
	sub, err := s.st.get(ctx, id, owner)
	if err != nil {
		return "", time.Time{}, err
	}
	now := time.Now().UTC()
	until := now.Add(s.opts.SecretOverlap)
	secret := NewSecret()
	kept := []Secret{{Secret: secret}}
	for _, old := range sub.secrets {
		if old.Until == nil {
			old.Until = &until
		}
		if now.Before(*old.Until) {
			kept = append(kept, old)
		}
	}
	sub.secrets, sub.UpdatedAt = kept, now
	if err := s.st.update(ctx, sub); err != nil {
		return "", time.Time{}, err
	}
	s.touch(ctx)
	return secret, until, nil
}

// Replay sends again what subscription id was sent, or was to be sent,
// since then: delivered, failed and pending messages alike, each under its
// own webhook-id, in order per shipment. It returns how many.
func (s *Service) Replay(ctx context.Context, owner, id string, since time.Time) (int64, error) {
	if _, err := s.st.get(ctx, id, owner); err != nil {
		return 0, err
	}
	n, err := s.st.replay(ctx, id, since)
	if err != nil {
		return 0, err
	}
	s.touch(ctx)
	return n, nil
}

// Attempts returns the latest delivery attempts of subscription id, newest
// first.
func (s *Service) Attempts(ctx context.Context, owner, id string, limit int) ([]Attempt, error) {
	if _, err := s.st.get(ctx, id, owner); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > logKeep {
		limit = logKeep
	}
	return s.st.attempts(ctx, id, limit)
}

// Counts returns how many messages of subscription id are pending,
// delivered and failed.
func (s *Service) Counts(ctx context.Context, owner, id string) (map[string]int64, error) {
	if _, err := s.st.get(ctx, id, owner); err != nil {
		return nil, err
	}
	return s.st.counts(ctx, id)
}
