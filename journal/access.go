package journal

import "slices"

// Action is what an actor does to a resource, for Allowed.
type Action int

// Actions.
const (
	ActionUnknown Action = iota // ActionUnknown is the zero value; never allowed.
	ActionRead                  // read or list
	ActionCreate                // create or load
	ActionUpdate                // change, including workflow moves
	ActionDelete                // delete or disable
	ActionApprove               // approve or return appeals under review
)

var actionEnum = enum[Action]{"action", []string{"", "read", "create", "update", "delete", "approve"}, nil}

func (a Action) String() string { return actionEnum.str(a) }

// Resource is a kind of thing an action applies to, for Allowed.
type Resource int

// Resources.
const (
	ResourceUnknown   Resource = iota // ResourceUnknown is the zero value; never allowed.
	ResourceAppeal                    // appeals (which ones: CanSeeAppeal)
	ResourcePerson                    // the insured registry: search and person cards
	ResourceRegistry                  // loading the insured registry
	ResourceCall                      // call detail records
	ResourceRecording                 // call recordings
	ResourceAccount                   // accounts and roles
	ResourceCatalog                   // topics and answer scripts
	ResourceDirectory                 // the phone directory of accounts
	ResourceAudit                     // the audit log
	ResourceCampaign                  // outbound campaigns
	ResourceList                      // survey lists of campaigns
	ResourceSurvey                    // survey cards and answers
	ResourceJournal                   // backup, restore, export of the journal
	ResourceMetrics                   // /metrics
	ResourceHealth                    // /healthz, /readyz
	// ResourceAgent is operators' work: their own session and state
	// (update), everyone's states and the queues (read); creating means
	// acting on another operator and supervising calls (listen, whisper,
	// barge, log out).
	ResourceAgent
	// ResourceReport is the queue reports and the queue_log export: every
	// queue's figures and every operator's work over a period.
	ResourceReport
)

var resourceEnum = enum[Resource]{"resource", []string{"", "appeal", "person", "registry", "call", "recording", "account",
	"catalog", "directory", "audit", "campaign", "list", "survey", "journal", "metrics", "health", "agent", "report"}, nil}

func (r Resource) String() string { return resourceEnum.str(r) }

// Resources lists every resource, in order.
var Resources = []Resource{ResourceAppeal, ResourcePerson, ResourceRegistry, ResourceCall, ResourceRecording, ResourceAccount,
	ResourceCatalog, ResourceDirectory, ResourceAudit, ResourceCampaign, ResourceList, ResourceSurvey, ResourceJournal,
	ResourceMetrics, ResourceHealth, ResourceAgent, ResourceReport}

// Actions lists every action, in order.
var Actions = []Action{ActionRead, ActionCreate, ActionUpdate, ActionDelete, ActionApprove}

var (
	r    = []Action{ActionRead}
	rc   = []Action{ActionRead, ActionCreate}
	rcu  = []Action{ActionRead, ActionCreate, ActionUpdate}
	ru   = []Action{ActionRead, ActionUpdate}
	rcud = []Action{ActionRead, ActionCreate, ActionUpdate, ActionDelete}
	all  = []Action{ActionRead, ActionCreate, ActionUpdate, ActionDelete, ActionApprove}
)

// operatorRights are shared by operators and insurance representatives of
// every level; which appeals they see is CanSeeAppeal's business.
var operatorRights = map[Resource][]Action{
	ResourceAppeal: rcu, ResourcePerson: r, ResourceCall: r, ResourceRecording: r,
	ResourceCatalog: r, ResourceDirectory: r, ResourceSurvey: ru, ResourceHealth: r, ResourceAgent: ru,
}

// rights is the access table: a role may do an action on a resource only
// when it is listed here.
var rights = map[Role]map[Resource][]Action{
	RoleOperatorL1: operatorRights,
	RoleOperatorL2: operatorRights,
	RoleRepL1:      operatorRights,
	RoleRepL2:      operatorRights,
	RoleRepL3:      operatorRights,
	RoleSupervisor: {
		ResourceAppeal: ru, ResourcePerson: r, ResourceCall: r, ResourceRecording: r, ResourceAccount: r,
		ResourceCatalog: rcu, ResourceDirectory: r, ResourceCampaign: r, ResourceList: r, ResourceSurvey: r,
		ResourceMetrics: r, ResourceHealth: r, ResourceAgent: rcu, ResourceReport: r,
	},
	RoleAdmin: {
		ResourceAppeal: all, ResourcePerson: r, ResourceRegistry: rc, ResourceCall: r, ResourceRecording: r,
		ResourceAccount: rcud, ResourceCatalog: rcud, ResourceDirectory: r, ResourceAudit: r,
		ResourceCampaign: rcud, ResourceList: rcud, ResourceSurvey: ru, ResourceJournal: rcu,
		ResourceMetrics: r, ResourceHealth: r, ResourceAgent: rcu, ResourceReport: r,
	},
	RoleCampaignStaff: {
		ResourceCampaign: rcud, ResourceList: rcud, ResourceSurvey: r, ResourceDirectory: r, ResourceHealth: r,
		ResourceAgent: r,
	},
	RoleSRE: {ResourceMetrics: r, ResourceHealth: r},
}

// Allowed reports whether role may do action on resource. It is a pure
// function of the access table above; unknown roles, actions and
// resources are denied.
func Allowed(role Role, action Action, resource Resource) bool {
	return slices.Contains(rights[role][resource], action)
}

// CanSeeAppeal reports whether an account may read appeal a, beyond
// Allowed(role, read, appeal): operators of level 1 see the appeals they
// created, those assigned to them and those of their queues; level 2
// operators and insurance representatives see the ones assigned to them;
// administrators and supervisors see all; other roles none.
func CanSeeAppeal(login string, role Role, queues []string, a *Appeal) bool {
	if !Allowed(role, ActionRead, ResourceAppeal) {
		return false
	}
	switch role {
	case RoleAdmin, RoleSupervisor:
		return true
	case RoleOperatorL1:
		return a.CreatedBy == login || a.Assignee == login || (a.Queue != "" && slices.Contains(queues, a.Queue))
	default:
		return a.Assignee == login
	}
}
