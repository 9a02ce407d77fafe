// Package api is obzvon's HTTP surface: health and readiness for the
// service manager and load balancers, /metrics for Prometheus, and the
// JSON API under /api/v1 that the desktop, the CLI and automation use.
//
// # Authentication
//
// A browser logs in with POST /api/v1/login {"login","password"} and gets
// a session cookie (obzvon_session: Secure, HttpOnly, SameSite=Strict) and
// a csrf_token that must come back in the X-CSRF-Token header of every
// state-changing request (POST, PATCH, DELETE) of that session; GET
// /api/v1/me returns it again after a page reload. Sessions live in memory
// (a restart logs everyone out) and end after SessionIdle without use or
// SessionMax after login. The CLI and automation send a journal bearer
// token (Authorization: Bearer obz_…), which needs no CSRF token. The
// admin Unix socket (Options.Admin) trusts its peer as an administrator:
// its file mode admits only root and the obzvon group.
//
// Failed logins are limited by token buckets per account (5, then one a
// minute) and per source address (20, then one every 15 s; IPv6 by /64).
// Over the limit the answer is 429 with Retry-After, even for the right
// password; a successful login gives its token back.
//
// # Authorization
//
// Every endpoint names the action and resource it needs and is refused
// (403) unless one of the caller's roles has it in the journal's access
// table (journal.Allowed); anonymous callers get 401. Appeals are further
// limited by journal.CanSeeAppeal (403 for one not yours), and the
// workflow rules of journal.Apply (409 with the reason).
//
// # Errors
//
// Every error is JSON {"error": "..."}: 400 malformed request (the
// message names the field), 401, 403, 404, 409 (illegal workflow move,
// conflict, already exists), 413, 415, 422 (a field's value is refused:
// the message names it), 429, 500 (details only in the log), 503.
//
// # Endpoints
//
//	POST   /api/v1/login                               anyone
//	POST   /api/v1/logout                              any account
//	GET    /api/v1/me                                  any account: account, rights, csrf_token
//	GET    /api/v1/accounts                            read account (supervisor, admin)
//	POST   /api/v1/accounts                            create account (admin)
//	GET    /api/v1/accounts/{login}                    read account
//	POST   /api/v1/accounts/{login}/disable|enable     delete account (admin)
//	POST   /api/v1/accounts/{login}/password           admin, or the account itself with "current"
//	POST   /api/v1/accounts/{login}/sip-secret         update account (admin): {"secret","realm"}
//	POST   /api/v1/accounts/{login}/tokens             update account (admin): {"name","ttl"} → secret
//	DELETE /api/v1/accounts/{login}/tokens             update account (admin)
//	GET    /api/v1/directory?q=                        read directory (manual 4.1)
//	GET    /api/v1/appeals?view=mine|assigned|queue|work|all&status=&queue=&limit=
//	POST   /api/v1/appeals                             create appeal: the registration card
//	GET    /api/v1/appeals/{id or number}              read appeal
//	PATCH  /api/v1/appeals/{ref}                       update appeal: changed card fields
//	POST   /api/v1/appeals/{ref}/close                 {"resolution","comment","to","new_due"}
//	POST   /api/v1/appeals/{ref}/resume|transfer       {"to": login or extension}
//	POST   /api/v1/appeals/{ref}/approve|return        approve appeal (admin): {"comment"}
//	POST   /api/v1/appeals/{ref}/links                 {"appeals": [earlier ids or numbers]}
//	POST   /api/v1/appeals/{ref}/calls                 {"call_id"}
//	POST   /api/v1/appeals/{ref}/attachments           multipart: doc_number, registered, file
//	GET    /api/v1/appeals/{ref}/attachments/{id}      the file
//	GET    /api/v1/history?phone=|enp=|surname=&name=&patronymic=&birth=
//	GET    /api/v1/registry/persons?surname=&name=&patronymic=&birth=  (≤10) or ?phone=
//	GET    /api/v1/registry/persons/{enp}              read person
//	POST   /api/v1/registry/load?name=&format=         create registry (admin): body is the list file → counts, row errors
//	GET    /api/v1/catalog/topics?kind=                read catalog
//	GET    /api/v1/catalog/topics/{topic}/scripts      with recommended_operators
//	GET    /api/v1/catalog/topics/{topic}/recommended  level-2 operators to forward to
//	GET    /api/v1/catalog/search?q=&kind=             topics and scripts by keywords
//	POST   /api/v1/catalog/load                        create catalog (supervisor, admin): {"topics","scripts"} files
//	GET    /api/v1/campaigns                           read campaign (campaign staff, supervisor, admin)
//	POST   /api/v1/campaigns                           create campaign: {"id","title","script"|"script_source","settings"}
//	GET    /api/v1/campaigns/{id}                      read campaign: the campaign and its counts per MO
//	POST   /api/v1/campaigns/{id}/load?name=&progress= create list: body is the list file → counts, row errors
//	POST   /api/v1/campaigns/{id}/start|pause|stop     update campaign: {"reason"}
//	GET    /api/v1/campaigns/{id}/export?format=&encoding=&mo=   read campaign: XLSX or CSV, X-Obzvon-Rows: persons
//	GET    /api/v1/campaigns/{id}/why?contact=         read campaign: a person's attempts, decisions not to dial, now
//	GET    /api/v1/dnc?phone=&after=&limit=            read campaign: a page of the do-not-call list {"entries","total","next"}
//	GET    /api/v1/dnc?format=csv&encoding=&phone=     read campaign: the list as CSV, X-Obzvon-Rows: phones
//	POST   /api/v1/dnc?reason=&campaign=               update campaign: JSON {"phones":[…]} or a file of phones
//	DELETE /api/v1/dnc/{phone}                         delete campaign: {"reason"} (or ?reason=) → the entry, contacts released
//	GET    /api/v1/audit?account=|person=|subject=&from=&to=&limit=   read audit (admin)
//	GET    /api/v1/journal/backup                      read journal (admin): the stream, trailer X-Obzvon-Backup: ok
//	GET    /api/v1/journal/appeals?from=&to=           read journal (admin): full appeals for export, audited
//	GET    /api/v1/journal/events?stream=&from=&to=    read journal (admin): a stream's events (acd) as JSON lines
//	GET    /api/v1/calls?from=&to=                     admin socket only
//	POST   /api/v1/calls/{call}/transfer               update agent: {"target","mode": blind|attended,"appeal_id"}
//	POST   /api/v1/calls/{call}/transfer/complete|cancel  update agent: optional {"appeal_id"}; complete → {"to"}
//	                                                   (the appeal goes to the operator a blind transfer or a
//	                                                   completed attended one reached; "appeal_error" if not)
//	GET    /metrics                                    read metrics (sre, supervisor, admin) unless Options.OpenMetrics
//	GET    /healthz, /readyz                           anyone
package api
