// The health endpoint on a connection (`[server] health`, docs/operations.md#health-checks-and-
// draining): on the health listener's port every request gets the health answer; as a path it is
// answered on every site binding, before routing (so it works whatever the Host header says). The
// answer is the one the control thread last published to this loop (Worker::health): nothing here
// waits for another thread.
#include "shared/frontend/worker/connection.h"
#include "shared/frontend/worker/worker.h"
#include "shared/http/field_rules.h"

namespace sitehost {

bool Connection::is_health_request() const {
  const HealthEndpoint& health = worker_.config().health;
  switch (health.kind) {
    case HealthEndpoint::Kind::kAddress:
      return local_port_ == health.port;
    case HealthEndpoint::Kind::kPath:
      return http::iequals(ctx_->info.path, health.path);
    case HealthEndpoint::Kind::kOff:
      break;
  }
  return false;
}

void Connection::serve_health() {
  RequestContext& c = *ctx_;
  worker_.counters().health_requests.add();
  c.dispatched = true;
  const bool allowed = c.info.method == "GET" || c.info.is_head;
  const HealthAnswer& answer = worker_.health();
  c.status = allowed ? answer.status : 405;
  c.site_headers.assign("Content-Type: text/plain; charset=utf-8\r\nCache-Control: no-store\r\n");
  if (!allowed) c.site_headers.append("Allow: GET, HEAD\r\n");
  c.error_body.assign(allowed ? std::string_view(answer.body) : "use GET or HEAD\n");
  c.content_length = c.error_body.size();
  c.finished = true;
  send_own_answer();
}

}  // namespace sitehost
