// The survey card to open, handed from a list (or from a connected
// campaign call) to the card page in this tab's session storage: the
// person's policy number never goes into a URL.

/** SURVEY_KEY holds {campaign, title, list: [ЕНП…], index, back}. */
export const SURVEY_KEY = 'obzvon.survey';

/** openSurveyCard opens the card of one contact (a call that connected). */
export function openSurveyCard(campaign, enp, back) {
  sessionStorage.setItem(SURVEY_KEY, JSON.stringify({ campaign, list: [enp], index: 0, back: back || location.pathname, call: true }));
  location.assign('/surveys/card');
}
