# The two entry points of the README. Both install what is missing first (scripts/install-deps).
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all deps build demo test clean asan tsan

all: build

deps:
	@scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD) -G Ninja >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	@scripts/demo $(BUILD)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 900

asan: deps
	@cmake -S . -B build-asan -G Ninja -DDISCO_SANITIZE=address >/dev/null
	@cmake --build build-asan -j $(JOBS)
	@cd build-asan && ctest --output-on-failure -j $(JOBS) --timeout 1800

tsan: deps
	@cmake -S . -B build-tsan -G Ninja -DDISCO_SANITIZE=thread >/dev/null
	@cmake --build build-tsan -j $(JOBS)
	@cd build-tsan && TSAN_OPTIONS="suppressions=$(CURDIR)/tsan.supp history_size=7" ctest --output-on-failure -j $(JOBS) --timeout 1800

clean:
	rm -rf $(BUILD) build-asan build-tsan
