// Package reports takes user reports and automated signals about accounts and turns them
// into report cases for reviewers: one open case per target and category, scored by the
// weighted sum of its reports, where a reporter's weight is a Beta posterior of how often
// its past reports in that category led to action (prior from the platform-wide rate),
// reduced for young or sanctioned accounts and zeroed for a settable time once a reviewer
// marks the reporter as acting in bad faith.
//
// A burst of reports far above the target's own baseline from related reporters (new
// accounts, low accuracy, linked accounts in common, the same device or IP prefix) flags
// the case suspected_brigade: the case keeps every report, but its score counts only the
// credible ones.
//
// Nothing here imposes a sanction. The package never imports enforce (the layout test
// holds it): a report or a signal alone never does more than put a case before a
// reviewer.
package reports
