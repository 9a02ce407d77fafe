package prompts

// Prompts of outbound campaigns (made by scripts/make-prompts.sh). A
// campaign names its own in its settings and script; these are the
// defaults.
const (
	// SafeHarbor: «Здравствуйте! Вам звонит контакт-центр ОМС по поводу
	// диспансеризации. Все операторы заняты, мы вам перезвоним. Наш
	// телефон: восемь восемьсот, сто двадцать три, сорок пять, шестьдесят
	// семь.» — played to a live answer no operator took.
	SafeHarbor = "safe-harbor"
	// MachineMessage: «Здравствуйте! Вам звонит контакт-центр ОМС.
	// Приглашаем вас бесплатно пройти диспансеризацию в вашей поликлинике.
	// Наш телефон: …» — left on an answering machine.
	MachineMessage = "machine-message"
	// Informing: «Здравствуйте! Вас беспокоит ваша страховая медицинская
	// организация. В этом году вы можете бесплатно пройти диспансеризацию
	// в своей поликлинике. Запишитесь в регистратуре или на портале
	// Госуслуг.» — the informing script's IVR message.
	Informing = "informing"
	// InformingPassed: «Если вы уже прошли диспансеризацию в этом году,
	// нажмите 1. Если нет, нажмите 2.»
	InformingPassed = "informing-passed"
	// InformingCallback: «Если хотите, чтобы страховой представитель
	// перезвонил вам и помог записаться, нажмите 1. Если нет, нажмите 2.»
	InformingCallback = "informing-callback"
	// InformingThanks: «Спасибо! Всего доброго.»
	InformingThanks = "informing-thanks"
)

// CampaignPrompts returns the names of the campaign prompts, sorted.
func CampaignPrompts() []string {
	return []string{Informing, InformingCallback, InformingPassed, InformingThanks, MachineMessage, SafeHarbor}
}
