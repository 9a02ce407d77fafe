package journal

import (
	"fmt"
)

// enum implements String, text marshalling and parsing for the typed-int
// enumerations below: names[0] is the Unknown zero value.
type enum[T ~int] struct {
	what  string
	names []string
	ru    []string
}

func (e enum[T]) str(v T) string {
	if int(v) < 0 || int(v) >= len(e.names) {
		return fmt.Sprintf("%s(%d)", e.what, int(v))
	}
	return e.names[v]
}

func (e enum[T]) parse(s string) (T, error) {
	for i, n := range e.names {
		if i > 0 && n == s {
			return T(i), nil
		}
	}
	for i, n := range e.ru {
		if i > 0 && n == s {
			return T(i), nil
		}
	}
	return 0, fmt.Errorf("%w: unknown %s %q", ErrInvalid, e.what, s)
}

func (e enum[T]) unmarshal(v *T, b []byte) error {
	if len(b) == 0 {
		*v = 0
		return nil
	}
	p, err := e.parse(string(b))
	*v = p
	return err
}

func (e enum[T]) russian(v T) string {
	if int(v) <= 0 || int(v) >= len(e.ru) {
		return e.str(v)
	}
	return e.ru[v]
}

// Status is the state of an appeal in its workflow (manual §6).
type Status int

// Appeal statuses.
const (
	// StatusUnknown is the zero value; no stored appeal has it.
	StatusUnknown Status = iota
	// StatusInWork (В работе): accepted; measures are being taken.
	StatusInWork
	// StatusDeferred (Отсроченный ответ): the assigned operator must call
	// the citizen back.
	StatusDeferred
	// StatusUnderReview (На рассмотрении): closed by its operator, waiting
	// for an administrator to approve or return it.
	StatusUnderReview
	// StatusClosed (Закрыто): approved by an administrator; final.
	StatusClosed
)

var statusEnum = enum[Status]{"status",
	[]string{"", "in_work", "deferred", "under_review", "closed"},
	[]string{"", "В работе", "Отсроченный ответ", "На рассмотрении", "Закрыто"}}

func (s Status) String() string                { return statusEnum.str(s) }
func (s Status) Russian() string               { return statusEnum.russian(s) } // Russian returns the operator-facing name.
func (s Status) MarshalText() ([]byte, error)  { return []byte(s.String()), nil }
func (s *Status) UnmarshalText(b []byte) error { return statusEnum.unmarshal(s, b) }
func ParseStatus(s string) (Status, error)     { return statusEnum.parse(s) } // ParseStatus accepts the code or Russian name.

// Kind is the kind of an appeal (тип обращения).
type Kind int

// Appeal kinds.
const (
	KindUnknown      Kind = iota // KindUnknown is the zero value.
	KindComplaint                // Жалоба
	KindConsultation             // Консультация
	KindStatement                // Заявление
	KindProposal                 // Предложение
	KindGratitude                // Благодарность
)

var kindEnum = enum[Kind]{"appeal kind",
	[]string{"", "complaint", "consultation", "statement", "proposal", "gratitude"},
	[]string{"", "Жалоба", "Консультация", "Заявление", "Предложение", "Благодарность"}}

func (k Kind) String() string                { return kindEnum.str(k) }
func (k Kind) Russian() string               { return kindEnum.russian(k) } // Russian returns the operator-facing name.
func (k Kind) MarshalText() ([]byte, error)  { return []byte(k.String()), nil }
func (k *Kind) UnmarshalText(b []byte) error { return kindEnum.unmarshal(k, b) }
func ParseKind(s string) (Kind, error)       { return kindEnum.parse(s) } // ParseKind accepts the code or Russian name.

// Channel is how an appeal arrived.
type Channel int

// Appeal channels.
const (
	ChannelUnknown  Channel = iota // ChannelUnknown is the zero value.
	ChannelPhone                   // По телефону
	ChannelWritten                 // Письменно
	ChannelEmail                   // По электронной почте
	ChannelInPerson                // Личный приём
)

var channelEnum = enum[Channel]{"channel",
	[]string{"", "phone", "written", "email", "in_person"},
	[]string{"", "По телефону", "Письменно", "По электронной почте", "Личный приём"}}

func (c Channel) String() string                { return channelEnum.str(c) }
func (c Channel) Russian() string               { return channelEnum.russian(c) } // Russian returns the operator-facing name.
func (c Channel) MarshalText() ([]byte, error)  { return []byte(c.String()), nil }
func (c *Channel) UnmarshalText(b []byte) error { return channelEnum.unmarshal(c, b) }
func ParseChannel(s string) (Channel, error)    { return channelEnum.parse(s) } // ParseChannel accepts the code or Russian name.

// Resolution is the result an operator records when closing an appeal
// (Результат обращения).
type Resolution int

// Appeal resolutions.
const (
	// ResolutionUnknown is the zero value: not closed yet.
	ResolutionUnknown Resolution = iota
	// ResolutionExplained: the citizen got an explanation (consultation).
	ResolutionExplained
	// ResolutionResolved: measures were taken and the question is solved.
	ResolutionResolved
	// ResolutionNotConfirmed: the complaint was checked and not confirmed.
	ResolutionNotConfirmed
	// ResolutionWithdrawn: the citizen withdrew the appeal.
	ResolutionWithdrawn
	// ResolutionForwarded: forwarded to another operator with notice to the
	// citizen; the appeal becomes deferred for that operator.
	ResolutionForwarded
	// ResolutionExtended: on control, deadline extended; carries a new due
	// date and a reason and needs an administrator's approval.
	ResolutionExtended
)

var resolutionEnum = enum[Resolution]{"resolution",
	[]string{"", "explained", "resolved", "not_confirmed", "withdrawn", "forwarded", "extended"},
	[]string{"", "Даны разъяснения", "Приняты меры, вопрос решён", "Доводы не подтвердились", "Отозвано обратившимся",
		"Переадресация с уведомлением обратившегося", "Находится на контроле, сроки рассмотрения продлены"}}

func (r Resolution) String() string                { return resolutionEnum.str(r) }
func (r Resolution) Russian() string               { return resolutionEnum.russian(r) } // Russian returns the operator-facing name.
func (r Resolution) MarshalText() ([]byte, error)  { return []byte(r.String()), nil }
func (r *Resolution) UnmarshalText(b []byte) error { return resolutionEnum.unmarshal(r, b) }
func ParseResolution(s string) (Resolution, error) { return resolutionEnum.parse(s) } // ParseResolution accepts the code or Russian name.

// Role is an account's role.
type Role int

// Roles.
const (
	RoleUnknown       Role = iota // RoleUnknown is the zero value; allowed nothing.
	RoleOperatorL1                // Оператор 1-го уровня
	RoleOperatorL2                // Оператор 2-го уровня
	RoleRepL1                     // Страховой представитель 1-го уровня
	RoleRepL2                     // Страховой представитель 2-го уровня
	RoleRepL3                     // Страховой представитель 3-го уровня
	RoleSupervisor                // Супервизор
	RoleAdmin                     // Администратор контакт-центра
	RoleCampaignStaff             // Сотрудник по кампаниям обзвона
	RoleSRE                       // Инженер эксплуатации
)

var roleEnum = enum[Role]{"role",
	[]string{"", "operator_l1", "operator_l2", "rep_l1", "rep_l2", "rep_l3", "supervisor", "admin", "campaign_staff", "sre"},
	[]string{"", "Оператор 1-го уровня", "Оператор 2-го уровня", "Страховой представитель 1-го уровня",
		"Страховой представитель 2-го уровня", "Страховой представитель 3-го уровня", "Супервизор",
		"Администратор контакт-центра", "Сотрудник по кампаниям обзвона", "Инженер эксплуатации"}}

// Roles lists every known role, in order.
var Roles = []Role{RoleOperatorL1, RoleOperatorL2, RoleRepL1, RoleRepL2, RoleRepL3, RoleSupervisor, RoleAdmin, RoleCampaignStaff, RoleSRE}

func (r Role) String() string                { return roleEnum.str(r) }
func (r Role) Russian() string               { return roleEnum.russian(r) } // Russian returns the operator-facing name.
func (r Role) MarshalText() ([]byte, error)  { return []byte(r.String()), nil }
func (r *Role) UnmarshalText(b []byte) error { return roleEnum.unmarshal(r, b) }
func ParseRole(s string) (Role, error)       { return roleEnum.parse(s) } // ParseRole accepts the code or Russian name.
