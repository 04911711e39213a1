# The project's commands. `make demo` and `make test` are all a newcomer needs.
.PHONY: setup browser demo test node-test check bench component

setup:
	@./scripts/setup-toolchain

# Debian's headless Chromium and chromedriver, for the Test Events page test.
browser:
	@./scripts/setup-browser

# The bundled example workflows against the local Graph API double.
demo: setup
	cargo run --quiet -p host-harness -- demo

# Unit tests of the component's core and the host, and the end-to-end tests
# through the real component in wasmtime against the double.
test: setup browser
	cargo test --workspace
	$(MAKE) node-test

# The component run from Node.js through jco (examples/node-host).
# It uses the component and the host that `cargo test` just built.
node-test:
	cd examples/node-host && npm ci --no-audit --no-fund --loglevel=error && \
		COMPONENT=../../target/guest-build/wasm32-wasip2/guest/send_conversion_event.wasm npm test

# Formatting and lints, as CI checks them.
check: setup
	cargo fmt --all --check
	cargo clippy --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

# Performance figures: the host and the component, then Meta's Python SDK on
# the same work.
bench: setup
	cargo run --release -p host-harness -- bench
	benches/python-sdk

# The component alone, for embedding elsewhere.
component: setup
	cargo build -p send-conversion-event --target wasm32-wasip2 --profile guest
	@ls -l target/wasm32-wasip2/guest/send_conversion_event.wasm
