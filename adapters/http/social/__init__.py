"""Friends, blocks, mutes, user search and the three feeds."""
