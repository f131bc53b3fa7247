/* Every route's handler (the table is in http.c; docs/WEB.md lists the
 * paths): pages.c (pages, static files, report stub), api_session.c
 * (login, logout, me, users), api_station.c (station, runs, engineer
 * queries), events.c (the SSE stream). */
#ifndef RIG_WEB_HANDLERS_H
#define RIG_WEB_HANDLERS_H

#include "web/http.h"

enum MHD_Result page_login(struct web_req *r);
enum MHD_Result page_operator(struct web_req *r);
enum MHD_Result page_engineer(struct web_req *r);
enum MHD_Result page_admin(struct web_req *r);
enum MHD_Result page_static(struct web_req *r);
enum MHD_Result page_report(struct web_req *r);
/* The HTML answers of a page route's checks (http.c calls them). */
enum MHD_Result page_redirect_login(struct web_req *r);
enum MHD_Result page_forbidden(struct web_req *r);

enum MHD_Result api_login(struct web_req *r);
enum MHD_Result api_logout(struct web_req *r);
enum MHD_Result api_me(struct web_req *r);
enum MHD_Result api_users_list(struct web_req *r);
enum MHD_Result api_users_add(struct web_req *r);
enum MHD_Result api_users_set(struct web_req *r);
enum MHD_Result api_users_delete(struct web_req *r);

enum MHD_Result api_station(struct web_req *r);
enum MHD_Result api_run(struct web_req *r);
enum MHD_Result api_abort(struct web_req *r);
enum MHD_Result api_history(struct web_req *r);
enum MHD_Result api_unit(struct web_req *r);
enum MHD_Result api_stats(struct web_req *r);
enum MHD_Result api_devices(struct web_req *r);

enum MHD_Result api_events(struct web_req *r);

#endif
