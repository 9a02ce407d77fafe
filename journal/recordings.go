package journal

import (
	"context"
	"fmt"
)

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
