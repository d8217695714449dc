pub(crate) mod egress_attempt;
pub(crate) mod eval_awareness;
pub(crate) mod failed_behaviour_check;
pub(crate) mod followup_denial;
pub(crate) mod honeypot_read;
pub(crate) mod lingering_process;
pub(crate) mod protected_file_modified;
pub(crate) mod tripwire_exec;
