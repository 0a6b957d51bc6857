package ledger

import (
	"context"

	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/errs"
)

// MaxCaseRef is the most bytes of a case or recovery reference.
const MaxCaseRef = 256

// Compensate pays c's amount to the account from platform:compensation and, when
// recoverable, records it as owed back. Returns errs.Invalid naming the fields at
// fault, errs.NoFunds when the fund has not that much.
func (s *Service) Compensate(ctx context.Context, c *Compensation) (*Compensation, error) {
	var fs errs.Fields
	checkMoney(&fs, c.Account, c.Amount, c.Currency)
	if c.CaseRef == "" || len(c.CaseRef) > MaxCaseRef {
		fs.Add("case_ref", "is required: at most %d bytes naming the case", MaxCaseRef)
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	c.ID, c.CreatedAt, c.Recovered, c.Recoveries, c.Owed = newID(), now, 0, []Recovery{}, 0
	if c.Recoverable {
		c.Owed = c.Amount
	}
	t := &Transfer{ID: stewardIDs + "compensation:" + c.ID, From: CompensationFund, To: UserName(c.Account), Amount: c.Amount,
		Currency: c.Currency, Kind: "compensation", Metadata: map[string]string{"case_ref": c.CaseRef}, CreatedAt: now}
	c.Transfer = t.ID
	err := s.tx.Write(ctx, func(ctx context.Context) error {
		b, err := s.lock(ctx, []WalletKey{{t.From, t.Currency}, {t.To, t.Currency}}, now)
		if err != nil {
			return accountField(err)
		}
		legs, err := b.move(nil, "", t, true)
		if err != nil {
			return err
		}
		if err := b.flush(ctx, []*Transfer{t}, legs); err != nil {
			return err
		}
		if err := s.store.InsertCompensation(ctx, c); err != nil {
			return err
		}
		return s.audit.Record(ctx, transferChange(t), audit.Change{Action: "ledger.compensation", Subject: c.Account, Value: c})
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// accountField turns the Invalid error of a wallet that cannot open into one naming
// the request's account field.
func accountField(err error) error {
	if errs.CodeOf(err) == errs.Invalid && errs.FieldsOf(err) == nil {
		return errs.Field("account", "%v", err)
	}
	return err
}

// Compensation returns the compensation. Returns errs.NotFound when there is none.
func (s *Service) Compensation(ctx context.Context, id string) (*Compensation, error) {
	if !validUUID(id) {
		return nil, errs.E(errs.NotFound, "compensation %q not found", id)
	}
	return s.store.GetCompensation(ctx, id)
}

// Recover credits amount recovered for compensation id (reference names where it came
// from, a police case say) to the victim from platform:recoveries and, up to what is
// still owed, moves it back to the compensation fund, in one transaction: the
// statement shows both legs. The repayment is owed from before any hold and is the
// money just credited, so no hold stops it. Returns errs.NotFound, errs.Invalid naming
// the fields at fault.
func (s *Service) Recover(ctx context.Context, id string, amount int64, reference string) (*Recovery, error) {
	var fs errs.Fields
	checkAmount(&fs, "amount", amount)
	if reference == "" || len(reference) > MaxCaseRef {
		fs.Add("reference", "is required: at most %d bytes naming where the money was recovered", MaxCaseRef)
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	if _, err := s.Compensation(ctx, id); err != nil {
		return nil, err
	}
	var rec *Recovery
	err := s.tx.Write(ctx, func(ctx context.Context) error {
		c, err := s.store.GetCompensation(ctx, id)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		rec = &Recovery{ID: newID(), Amount: amount, Reference: reference, Repaid: min(amount, c.Owed), CreatedAt: now}
		user := UserName(c.Account)
		b, err := s.lock(ctx, []WalletKey{{Recoveries, c.Currency}, {user, c.Currency}, {CompensationFund, c.Currency}}, now)
		if err != nil {
			return err
		}
		meta := map[string]string{"case_ref": c.CaseRef, "reference": reference, "compensation": c.ID}
		credit := &Transfer{ID: stewardIDs + "recovery:" + rec.ID, From: Recoveries, To: user, Amount: amount,
			Currency: c.Currency, Kind: "recovery", Metadata: meta, CreatedAt: now}
		ts := []*Transfer{credit}
		legs, err := b.move(nil, "", credit, true)
		if err != nil {
			return err
		}
		rec.Credit = credit.ID
		if rec.Repaid > 0 {
			claw := &Transfer{ID: stewardIDs + "clawback:" + rec.ID, From: user, To: CompensationFund, Amount: rec.Repaid,
				Currency: c.Currency, Kind: "clawback", Metadata: meta, CreatedAt: now}
			if legs, err = b.move(legs, "", claw, false); err != nil {
				return err
			}
			ts, rec.Clawback = append(ts, claw), claw.ID
		}
		c.Owed -= rec.Repaid
		c.Recovered += amount
		c.Recoveries = append(c.Recoveries, *rec)
		if err := b.flush(ctx, ts, legs); err != nil {
			return err
		}
		if err := s.store.UpdateCompensation(ctx, c); err != nil {
			return err
		}
		changes := []audit.Change{}
		for _, t := range ts {
			changes = append(changes, transferChange(t))
		}
		changes = append(changes, audit.Change{Action: "ledger.recovery", Subject: c.Account, Value: rec})
		return s.audit.Record(ctx, changes...)
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}
