-- genms.lua -- generational: a copying nursery promoting into a mark-sweep mature space.
plan "genms" {
  extends = "gencopy",
  doc = "Copying nursery promoting into a mark-sweep mature space (old objects never move).",
  pools = {
    mature = ms { },                  -- replaces gencopy's copying mature space
  },
}
