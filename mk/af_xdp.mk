# mk/af_xdp.mk — AF_XDP 的效能工具需要的函式庫(由頂層 Makefile include)
needs_xdp_livegen := libbpf
