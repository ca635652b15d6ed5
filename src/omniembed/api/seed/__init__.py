"""Routes compatible with the seed services: Llama Stack's proposal, Intel MES, SambaStudio."""
