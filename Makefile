# 核心旁路(kernel-bypass)示範套件的建置檔
#
# 每個示範程式是一個獨立的 C 檔。本檔以 pkg-config 探測各程式需要的函式庫:
# 有就建置,沒有就印一行說明缺少哪個 Debian 套件並繼續,`make` 不會因為缺函式庫而失敗。
#
#   make                  建置所有能建置的程式與工具
#   make SANITIZE=1       以 AddressSanitizer + UBSan 建置
#   make O=build/asan SANITIZE=1   建置到另一個目錄(測試用,不覆蓋一般版本)
#   make check-deps       列出函式庫與核心功能的狀態
#   sudo make install-deps / setup-hugepages / demo
#   make test             執行 ./run_tests.sh(基本模式)

PKG_CONFIG ?= pkg-config
CC         ?= cc
O          ?= .
HUGEPAGES  ?= 512

CFLAGS  ?= -O2 -g
CFLAGS  += -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE
LDFLAGS ?=
ifeq ($(SANITIZE),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

# --- 函式庫探測 -------------------------------------------------------------
# pkg 名稱 -> Debian 套件名稱(缺少時印給使用者看)
deb_liburing    := liburing-dev
deb_libxdp      := libxdp-dev
deb_libbpf      := libbpf-dev
deb_libibverbs  := libibverbs-dev
deb_librdmacm   := librdmacm-dev
deb_libdpdk     := libdpdk-dev

ALL_PKGS := liburing libxdp libbpf libibverbs librdmacm libdpdk
$(foreach p,$(ALL_PKGS),$(eval have_$(p) := $(shell $(PKG_CONFIG) --exists $(p) 2>/dev/null && echo 1)))

# missing_pkgs(pkgs): 缺少的 Debian 套件名稱
missing_pkgs = $(strip $(foreach p,$(1),$(if $(have_$(p)),,$(deb_$(p)))))
pkg_cflags   = $(if $(1),$(shell $(PKG_CONFIG) --cflags $(1)))
pkg_libs     = $(if $(1),$(shell $(PKG_CONFIG) --libs $(1)))

# --- 程式清單 -----------------------------------------------------------------
# 程式名稱、原始檔與需要的 pkg-config 套件
PROGRAMS := io_uring_async af_xdp_socket dpdk_packet_processing rdma_communication
needs_io_uring_async         := liburing
needs_af_xdp_socket          := libxdp libbpf
needs_dpdk_packet_processing := libdpdk
needs_rdma_communication     := libibverbs librdmacm
extra_libs_io_uring_async         :=
extra_libs_af_xdp_socket          := -lpthread
extra_libs_dpdk_packet_processing :=
extra_libs_rdma_communication     := -lpthread -lm

# 需要的指令(不是 pkg-config 套件):AF_XDP 的 XDP 程式(核心半部)以 clang 編譯成 BPF
CLANG ?= clang
needs_cmd_af_xdp_socket := $(CLANG)
missing_cmds = $(strip $(foreach c,$(1),$(if $(shell command -v $(c) 2>/dev/null),,$(c))))

# af_xdp_socket.c 的核心半部(#ifdef __bpf__)編成 BPF 物件檔,再以 .incbin 嵌進執行檔。
# Debian 的 asm/types.h 在多架構目錄,-target bpf 時要自己加 -I。
BPF_CFLAGS := -O2 -g -target bpf -Wall -Werror -I/usr/include/$(shell $(CC) -dumpmachine 2>/dev/null)
extra_deps_af_xdp_socket   := $(O)/af_xdp_socket.bpf.o
extra_cflags_af_xdp_socket := -DXDP_OBJ_PATH='"$(abspath $(O))/af_xdp_socket.bpf.o"'

# 輔助工具(bench/*.c、tests/tools/*.c):預設只需 libc。
# 需要函式庫的工具在 mk/*.mk 裡設定 needs_<名稱> 與 extra_libs_<名稱>。
TOOL_SRCS := $(sort $(wildcard bench/*.c tests/tools/*.c))
TOOLS     := $(TOOL_SRCS:.c=)

.DEFAULT_GOAL := all
-include $(sort $(wildcard mk/*.mk))

# skip_reason(name, src): 空字串表示可以建置
skip_reason = $(if $(wildcard $(2)),$(if $(call missing_pkgs,$(needs_$(1))),缺少函式庫:請安裝 $(call missing_pkgs,$(needs_$(1)))(sudo make install-deps),$(if $(call missing_cmds,$(needs_cmd_$(1))),缺少 $(call missing_cmds,$(needs_cmd_$(1)))(編譯 XDP 程式用;sudo make install-deps))),原始檔 $(2) 尚不存在)

BUILDABLE_PROGRAMS := $(foreach p,$(PROGRAMS),$(if $(call skip_reason,$(p),$(p).c),,$(p)))
BUILDABLE_TOOLS    := $(foreach t,$(TOOLS),$(if $(call skip_reason,$(notdir $(t)),$(t).c),,$(t)))

# 旗標改變(例如 SANITIZE)時強制重建
FLAGS_STAMP := $(O)/.build-flags
FLAGS_TEXT  := $(CC) $(CFLAGS) $(LDFLAGS)
$(shell mkdir -p $(O) && { [ -f $(FLAGS_STAMP) ] && [ "$$(cat $(FLAGS_STAMP))" = '$(FLAGS_TEXT)' ] || printf '%s\n' '$(FLAGS_TEXT)' > $(FLAGS_STAMP); })

.PHONY: all tools io_uring af_xdp dpdk rdma check-deps install-deps setup-hugepages \
	test demo clean skip-report

all: $(addprefix $(O)/,$(BUILDABLE_PROGRAMS) $(BUILDABLE_TOOLS)) skip-report

tools: $(addprefix $(O)/,$(BUILDABLE_TOOLS))

skip-report:
	@$(foreach p,$(PROGRAMS),$(if $(call skip_reason,$(p),$(p).c),echo "略過 $(p):$(call skip_reason,$(p),$(p).c)";))
	@$(foreach t,$(TOOLS),$(if $(call skip_reason,$(notdir $(t)),$(t).c),echo "略過 $(t):$(call skip_reason,$(notdir $(t)),$(t).c)";))
	@true

# build_rule(name, src, out)
define build_rule
$(3): $(2) $(FLAGS_STAMP) $(wildcard $(dir $(2))*.h) $(extra_deps_$(1))
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS) $$(extra_cflags_$(1)) $$(call pkg_cflags,$$(needs_$(1))) -o $$@ $$< $$(LDFLAGS) $$(call pkg_libs,$$(needs_$(1))) $$(extra_libs_$(1))
endef

$(O)/%.bpf.o: %.c
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c -o $@ $<
$(foreach p,$(BUILDABLE_PROGRAMS),$(eval $(call build_rule,$(p),$(p).c,$(O)/$(p))))
$(foreach t,$(BUILDABLE_TOOLS),$(eval $(call build_rule,$(notdir $(t)),$(t).c,$(O)/$(t))))

# 使用者熟悉的短名稱;明確指定的程式若無法建置則失敗並說明原因
define alias_rule
$(1): $(O)/$(2)
ifneq ($(call skip_reason,$(2),$(2).c),)
$(O)/$(2):
	@echo "無法建置 $(2):$(call skip_reason,$(2),$(2).c)" >&2; exit 1
endif
endef
$(eval $(call alias_rule,io_uring,io_uring_async))
$(eval $(call alias_rule,af_xdp,af_xdp_socket))
$(eval $(call alias_rule,dpdk,dpdk_packet_processing))
$(eval $(call alias_rule,rdma,rdma_communication))
ifneq ($(O),.)
$(foreach p,$(PROGRAMS),$(eval $(p): $(O)/$(p)))
endif

check-deps:
	@PKG_CONFIG='$(PKG_CONFIG)' bash scripts/check-deps.sh

install-deps:
	@bash scripts/install-deps.sh

setup-hugepages:
	@HUGEPAGES='$(HUGEPAGES)' bash scripts/setup-hugepages.sh

test:
	./run_tests.sh

demo:
	@bash scripts/demo.sh

clean:
	rm -f $(PROGRAMS) $(TOOLS) .build-flags *.bpf.o
	rm -rf build results/*.md results/*.png results/*.json results/raw tests/logs
