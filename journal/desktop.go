package journal

import (
	"context"
	"fmt"
)

// Audits of what the desktop shows that no other call of the journal
// records: recordings played or downloaded, and lists of persons.

// AuditRecording records that who played (op "play") or downloaded (op
// "download") the recording of call callID, reached through appeal
// appealID about the person with ENP person (may be empty). Recordings
// hold a citizen's voice and what they said: every access is in the
// audit log, like a read of the person's card.
func (j *Journal) AuditRecording(ctx context.Context, who Actor, op, callID, appealID, person string) error {
	if !Allowed(who.Role, ActionRead, ResourceRecording) {
		return fmt.Errorf("recording of call %s: %w: role %s", callID, ErrDenied, who.Role)
	}
	return j.auditRead(ctx, who, op, "call:"+callID, person, "recording, appeal "+appealID)
}

// AuditList records that who read a list of n persons of subject (a
// campaign's survey journal), with the filters used in detail: the
// filters and the count, never the persons.
func (j *Journal) AuditList(ctx context.Context, who Actor, subject, detail string, n int) error {
	if !Allowed(who.Role, ActionRead, ResourceSurvey) {
		return fmt.Errorf("list %s: %w: role %s", subject, ErrDenied, who.Role)
	}
	return j.auditRead(ctx, who, "list", subject, "", fmt.Sprintf("%s: %d persons", detail, n))
}
