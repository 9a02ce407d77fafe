package journal

import (
	"fmt"
	"strings"
	"testing"
)

// TestAllowedTable tries every role against every action on every
// resource. The grid is written from the rules: operators and
// reps work appeals and read the registry; campaign staff no appeals; sre
// only metrics and health; administrators everything but SRE's metrics
// are theirs too. Letters: r read, c create, u update, d delete, a approve.
func TestAllowedTable(t *testing.T) {
	op := "appeal:rcu person:r call:r recording:r catalog:r directory:r survey:ru health:r agent:ru"
	grid := map[Role]string{
		RoleOperatorL1: op, RoleOperatorL2: op, RoleRepL1: op, RoleRepL2: op, RoleRepL3: op,
		RoleSupervisor: "appeal:ru person:r call:r recording:r account:r catalog:rcu directory:r campaign:r list:r survey:r metrics:r health:r agent:rcu report:r",
		RoleAdmin: "appeal:rcuda person:r registry:rc call:r recording:r account:rcud catalog:rcud directory:r audit:r " +
			"campaign:rcud list:rcud survey:ru journal:rcu metrics:r health:r agent:rcu report:r",
		RoleCampaignStaff: "campaign:rcud list:rcud survey:r directory:r health:r agent:r",
		RoleSRE:           "metrics:r health:r",
		RoleUnknown:       "",
		Role(77):          "",
	}
	letters := map[Action]string{ActionRead: "r", ActionCreate: "c", ActionUpdate: "u", ActionDelete: "d", ActionApprove: "a"}
	for role, spec := range grid {
		want := map[string]string{}
		for _, f := range strings.Fields(spec) {
			k, v, _ := strings.Cut(f, ":")
			want[k] = v
		}
		for _, res := range append(Resources, ResourceUnknown, Resource(99)) {
			for _, act := range append(Actions, ActionUnknown) {
				exp := strings.Contains(want[res.String()], letters[act]) && letters[act] != ""
				if got := Allowed(role, act, res); got != exp {
					t.Errorf("Allowed(%s, %s, %s) = %v, want %v", role, act, res, got, exp)
				}
			}
		}
	}
	if len(grid) != len(Roles)+2 {
		t.Fatalf("grid covers %d roles, want all %d", len(grid)-2, len(Roles))
	}
}

func TestCanSeeAppeal(t *testing.T) {
	a := &Appeal{CreatedBy: "author", Assignee: "worker", Queue: "oms"}
	tests := []struct {
		login  string
		role   Role
		queues []string
		want   bool
	}{
		{"author", RoleOperatorL1, nil, true},
		{"worker", RoleOperatorL1, nil, true},
		{"other", RoleOperatorL1, []string{"oms"}, true},
		{"other", RoleOperatorL1, []string{"screening"}, false},
		{"author", RoleOperatorL2, nil, false},
		{"worker", RoleOperatorL2, nil, true},
		{"other", RoleOperatorL2, []string{"oms"}, false},
		{"worker", RoleRepL1, nil, true},
		{"author", RoleRepL3, nil, false},
		{"x", RoleAdmin, nil, true},
		{"x", RoleSupervisor, nil, true},
		{"worker", RoleCampaignStaff, nil, false},
		{"worker", RoleSRE, nil, false},
		{"worker", RoleUnknown, nil, false},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s/%s/%v", tt.login, tt.role, tt.queues)
		if got := CanSeeAppeal(tt.login, tt.role, tt.queues, a); got != tt.want {
			t.Errorf("CanSeeAppeal(%s) = %v, want %v", name, got, tt.want)
		}
	}
}
