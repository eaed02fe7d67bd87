"""Drives rosterd the way a Live Platform script written for Microsoft Entra ID does.

Usage: entra_clients.py AUTHORITY CLIENT_ID CLIENT_SECRET PAGE_URL CA_FILE
Prints one JSON object with what each client saw; exits non-zero on any failure.
The only changes from an Entra script: the authority URL, and instance_discovery=False
(MSAL asks login.microsoftonline.com about any authority host it does not know).
"""

import json
import ssl
import sys

import jwt
import msal
import requests

authority, client_id, secret, page_url, ca_file = sys.argv[1:6]
scopes = ["api://rosterd/.default"]
out = {}

# 1. MSAL for Python, authority https://host/{tenant}: reads {authority}/v2.0/.well-known/openid-configuration.
app = msal.ConfidentialClientApplication(
    client_id, client_credential=secret, authority=authority, instance_discovery=False
)
result = app.acquire_token_for_client(scopes=scopes)
if "access_token" not in result:
    raise SystemExit("MSAL got no token: %r" % result)
token = result["access_token"]
out["msal_token_type"] = result.get("token_type")
out["msal_expires_in"] = result.get("expires_in")

# 2. The token reads a page.
reply = requests.get(page_url, headers={"Authorization": "Bearer " + token}, timeout=30)
reply.raise_for_status()
page = reply.json()
out["page_total_records"] = page["totalRecords"]
out["page_first_identity"] = page["data"][0]["Identity"]

# 3. MSAL with oidc_authority (reads {authority}/.well-known/openid-configuration and checks the issuer).
oidc_app = msal.ConfidentialClientApplication(client_id, client_credential=secret, oidc_authority=authority)
oidc = oidc_app.acquire_token_for_client(scopes=scopes)
out["oidc_authority_token"] = "access_token" in oidc

# 4. PyJWT verifies the token through the tenant's discovery document and its JWKS.
discovery = requests.get(authority + "/v2.0/.well-known/openid-configuration", timeout=30).json()
jwks = jwt.PyJWKClient(discovery["jwks_uri"], ssl_context=ssl.create_default_context(cafile=ca_file))
key = jwks.get_signing_key_from_jwt(token)
claims = jwt.decode(
    token,
    key.key,
    algorithms=discovery["id_token_signing_alg_values_supported"],
    audience="api://rosterd",
    issuer=discovery["issuer"],
)
out["claims_azp"] = claims.get("azp")
out["discovery"] = discovery

# 5. The authorization endpoint the document names answers an Entra-shaped error.
authorize = requests.get(discovery["authorization_endpoint"], timeout=30)
out["authorize_status"] = authorize.status_code
out["authorize_error"] = authorize.json().get("error")

print(json.dumps(out))
