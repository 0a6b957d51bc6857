package notify

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"golang.org/x/text/language"

	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/reports"
)

var _ reports.Announcer = (*Notifier)(nil)

// caseWebhook is what a case event carries: the case's queue view, never its reports'
// text or reporters.
type caseWebhook struct {
	ID       string          `json:"id"`
	Target   string          `json:"target"`
	Category string          `json:"category"`
	State    reports.State   `json:"state"`
	Score    float64         `json:"score"`
	Flags    []string        `json:"flags"`
	Reports  int             `json:"reports"`
	Outcome  reports.Outcome `json:"outcome,omitempty"`
	Sanction string          `json:"sanction,omitempty"`
}

// AnnounceCase implements reports.Announcer: the case's webhook event, and for a decided
// case a notice to every reporter, in their locale, of the outcome. The notice names
// neither the target nor what was imposed on it: a reporter learns that a person looked
// and whether action was taken, nothing of the other account's private affairs.
func (n *Notifier) AnnounceCase(ctx context.Context, ch reports.CaseChange) error {
	c := ch.Case
	if len(ch.Reporters) > 0 {
		locales, err := n.accounts.Locales(ctx, ch.Reporters)
		if err != nil {
			return err
		}
		notices := make([]*Notice, 0, len(ch.Reporters))
		for _, r := range ch.Reporters {
			locale, ok := locales[r]
			if !ok {
				locale = n.fallback
			}
			tag := n.messages.match(locale)
			subject, body := reportOutcome(tag, c)
			notices = append(notices, &Notice{ID: uuid.Must(uuid.NewV7()).String(), Account: r, Event: enforce.Event(ch.Event),
				Locale: tag.String(), Subject: subject, Body: body, CreatedAt: ch.At.UTC()})
		}
		if err := n.store.Insert(ctx, notices...); err != nil {
			return err
		}
	}
	if n.outbox == nil {
		return nil
	}
	want, err := n.outbox.Subscribed(ctx)
	if err != nil || !want[string(ch.Event)] {
		return err
	}
	e, err := newEvent(string(ch.Event), c.Target, ch.At.UTC(), map[string]any{"case": caseWebhook{ID: c.ID, Target: c.Target,
		Category: c.Category, State: c.State, Score: c.Score, Flags: c.Flags, Reports: c.Reports, Outcome: c.Outcome, Sanction: c.Sanction}})
	if err != nil {
		return err
	}
	return n.outbox.Enqueue(ctx, e)
}

// reportOutcome is the notice a reporter gets of a decided case, in the language of tag.
func reportOutcome(tag language.Tag, c *reports.Case) (subject, body string) {
	if tag == language.MustParse("zh-CN") {
		subject = "你的举报已处理"
		if c.Outcome == reports.Action {
			return subject, fmt.Sprintf("感谢你的举报（%s，案件 %s）。审核人员已查看并依据我们的规则采取了措施。为保护当事人的隐私，我们不公开具体措施。", categoryZH[c.Category], c.ID)
		}
		return subject, fmt.Sprintf("感谢你的举报（%s，案件 %s）。审核人员已查看，认为该内容未违反我们的规则，因此未采取措施。", categoryZH[c.Category], c.ID)
	}
	subject = "Your report was reviewed"
	if c.Outcome == reports.Action {
		return subject, fmt.Sprintf("Thank you for your report (%s, case %s). A person reviewed it and took action under our rules. To protect everyone's privacy we do not say what was done.", c.Category, c.ID)
	}
	return subject, fmt.Sprintf("Thank you for your report (%s, case %s). A person reviewed it and found it did not break our rules, so no action was taken.", c.Category, c.ID)
}

var categoryZH = map[string]string{"spam": "垃圾信息", "fraud": "诈骗", "harassment": "骚扰", "hate": "仇恨言论", "impersonation": "冒充他人",
	"violence": "暴力", "sexual": "色情内容", "self_harm": "自我伤害", "other": "其他"}
