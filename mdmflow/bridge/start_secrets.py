"""Delete the secrets a certprof start sealed for its devices once none of its workflows runs.

A certprof start seals its text replacements (often a SCEP challenge) for every device of the
start, so that neither its input nor its history holds them; the profile's enqueue reads them.
Once every workflow of the start has ended nothing reads them again, yet they stayed in every
device's sealed inventory for good, one key per start. Every bridge looks once an hour for such
keys written over an hour ago and deletes those of starts with no running workflow, as
visibility counts them (one count per start). A start whose ID visibility cannot compare
exactly keeps its keys.
"""

from __future__ import annotations

import datetime as dt

from temporalio.client import Client

from mdmflow.bridge.instance_query import UnknownInstanceError, instance_query
from mdmflow.mdm.limits import LimitError
from mdmflow.store.secrets import InventorySecretStore
from mdmflow.visibility import RUNNING
from mdmflow.workflows.certprof_decide import CERTPROF, replacement_instance, replacement_prefix

MIN_AGE = dt.timedelta(hours=1)
"""Keys younger than this are left alone: visibility may not show their start's runs yet."""


async def prune_ended_start_secrets(
    secrets: InventorySecretStore, client: Client, min_age: dt.timedelta = MIN_AGE
) -> list[str]:
    """Delete the replacement secrets of every certprof start, sealed over ``min_age`` ago,
    that has no running workflow; return those starts' instance IDs."""
    keys = await secrets.keys_written_before(f"{CERTPROF}.", dt.datetime.now(dt.UTC) - min_age)
    instances = dict.fromkeys(i for k in keys if (i := replacement_instance(k)) is not None)
    pruned = []
    for instance_id in instances:
        try:
            query = f"{instance_query(instance_id)} AND {RUNNING}"
        except (UnknownInstanceError, LimitError):
            continue
        if (await client.count_workflows(query)).count:
            continue
        await secrets.delete_keys(replacement_prefix(instance_id))
        pruned.append(instance_id)
    return pruned
