-- sticky-inc.lua -- sticky mark bits with short pauses: incremental minor collections.
plan "sticky-inc" {
  extends = "sticky",
  doc = "Sticky mark bits with a 4 MB young generation marked incrementally: short minor pauses.",
  pools = {
    -- A minor collection every 4 MB of allocation, cut into pauses: each
    -- 32 KB the mutator allocates meanwhile, one increment marks 128 KB.
    main = ms { young_size = "4MB", young_step = "32KB" },
  },
}
