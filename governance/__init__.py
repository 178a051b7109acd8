"""The Engine's authority: institutions, actors, contracts, proposals, approvals, jobs.
Its refusals are the kernel's (`kernel.errors`)."""
