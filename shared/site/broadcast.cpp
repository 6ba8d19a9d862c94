#include <memory>
#include <utility>

#include "shared/site/site.h"

namespace sitehost {

void broadcast(EventLoops* loops, std::function<void(unsigned)> each, std::function<void()> done) {
  if (!loops) {
    each(0);
    if (done) done();
    return;
  }
  // Counted on the control thread only: each loop's acknowledgement is posted back there.
  struct State {
    size_t left;
    std::function<void(unsigned)> each;
    std::function<void()> done;
  };
  auto state = std::make_shared<State>(State{loops->count(), std::move(each), std::move(done)});
  auto arrived = [state] {
    if (--state->left == 0 && state->done) std::exchange(state->done, nullptr)();
  };
  for (unsigned i = 0; i < loops->count(); ++i) {
    bool posted = loops->post(i, [loops, state, arrived, i] {
      state->each(i);
      loops->post_control(arrived);
    });
    if (!posted) loops->post_control(arrived);
  }
}

}  // namespace sitehost
