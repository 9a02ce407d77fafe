package api

import (
	"context"
	"strings"

	"github.com/obzvon/obzvon/journal"
)

// appealFollowsCall hands the appeal registered for a call to the
// operator the call was transferred to (target: an extension or a login),
// blindly or at the completion of an attended transfer, so the colleague
// who now talks to the citizen may open and finish it. A queue or an outside number takes no appeal. It returns
// what went wrong in Russian for the desktop ("" when the appeal moved or
// there was none to move); the call's transfer stands either way.
func (s *server) appealFollowsCall(ctx context.Context, p *principal, appealID, target string) string {
	if appealID == "" || s.j == nil || strings.HasPrefix(target, "queue:") {
		return ""
	}
	login, err := s.handlerLogin(ctx, "target", target)
	if err != nil {
		return "" // not an operator: an outside number keeps no appeal
	}
	a, err := s.visibleAppeal(ctx, p, appealID)
	if err == nil && a.Assignee == login {
		return ""
	}
	if err == nil {
		_, err = s.j.Move(ctx, p.actor(rUpdate, journal.ResourceAppeal), a.ID, journal.Step{Move: journal.MoveTransfer, To: login, Comment: "Передано вместе со звонком"})
	}
	if err != nil {
		s.log.Warn("appeal did not follow its transferred call", keyAccount, p.login, "appeal", appealID, keyError, err,
			keyHint, "the call went over; hand the appeal over on its page («Переадресовать») or check the journal")
		return "Звонок переведён, но обращение не передано: передайте его на странице обращения."
	}
	return ""
}
