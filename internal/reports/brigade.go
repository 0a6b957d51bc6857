package reports

import "time"

// judgement is what brigade detection found in a case's window.
type judgement struct {
	burst   bool
	cluster Cluster
	related map[string]bool // report ID → its reporter is related to the burst
}

// judge looks at the window's reports of a case about a target with baseline reports
// in the lookback before the window. A reporter is related when it is new, of low
// accuracy, marked as acting in bad faith, or shares a device, an IP prefix or a linked
// account with another reporter of the window.
func (c Config) judge(window []*Report, before int) judgement {
	j := judgement{related: map[string]bool{}}
	windows := float64(c.Lookback) / float64(c.Window)
	baseline := float64(before) / max(windows, 1)
	cl := &j.cluster
	cl.Reporters, cl.Baseline, cl.Window = len(window), baseline, c.Window.String()
	j.burst = len(window) >= c.MinBurst && float64(len(window)) >= c.BurstFactor*max(baseline, 1)

	devices, ips, links := map[string]int{}, map[string]int{}, map[string]int{}
	for _, r := range window {
		if r.Context.Device != "" {
			devices[r.Context.Device]++
		}
		if r.Context.IPPrefix != "" {
			ips[r.Context.IPPrefix]++
		}
		for _, l := range r.Facts.Linked {
			links[l]++
		}
	}
	for _, r := range window {
		rel := false
		mark := func(n *int, yes bool) {
			if yes {
				*n++
				rel = true
			}
		}
		mark(&cl.New, r.Facts.New)
		mark(&cl.LowAccuracy, r.Facts.Accuracy < c.LowAccuracy)
		mark(&cl.SharedDevice, devices[r.Context.Device] > 1)
		mark(&cl.SharedIP, ips[r.Context.IPPrefix] > 1)
		// A reporter another of the window is linked to is related to it too.
		shared := links[r.Reporter] > 0
		for _, l := range r.Facts.Linked {
			shared = shared || links[l] > 1
		}
		mark(&cl.SharedLinks, shared)
		if r.Facts.BadFaith {
			rel = true
		}
		if rel {
			cl.Related++
			j.related[r.ID] = true
		} else {
			cl.Credible++
		}
	}
	return j
}

// flags reports whether the judgement flags the case as a suspected brigade.
func (c Config) flags(j judgement) bool {
	return j.burst && float64(j.cluster.Related) >= c.RelatedShare*float64(j.cluster.Reporters)
}

// windowStart is where the burst window before now begins.
func (c Config) windowStart(now time.Time) time.Time { return now.Add(-c.Window) }
