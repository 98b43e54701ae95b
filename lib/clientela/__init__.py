"""Clientela's shared platform code: one home for every concern the services share.

Packaged into each service's deployment artifact by `make package` (vendored), never copied by
hand.

Every pydantic model defers building its validator and serializer to its first use
(`defer_build`): a function that starts imports the models of every module it loads (its
routes' neighbours, every field of a settings class, event contracts), and building them all
was a third of its cold start, while it uses a few. This package is imported before any of
our models is declared (each app's settings come first), so the default set here holds for
every model of the services and the event contracts (root README, "Cold start").
"""

from pydantic import BaseModel

BaseModel.model_config["defer_build"] = True
