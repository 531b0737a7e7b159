// SPDX-License-Identifier: EUPL-1.2
pragma solidity 0.8.37;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @title ConsentRegistry
/// @notice Public trust anchor of the MyData consent ledger. It stores only salted
///         commitments to consent records, their expiry and the address of the
///         per-consent key that signed them, plus the operator's audit-log anchors.
///         Nothing personal is ever stored here.
/// @dev Grants and revocations are authorised by EIP-712 signatures of the
///      citizen's per-consent key, so any relayer (the operator) may submit them and
///      the citizen can always act directly on chain without the operator.
contract ConsentRegistry is EIP712 {
    /// @notice On-chain state of one consent.
    struct Consent {
        bytes32 commitment; // H(salt || canonical record)
        uint64 expiresAt; // unix seconds, compared with block.timestamp
        uint64 grantedAt; // block.timestamp of the grant
        uint64 revokedAt; // 0 while not revoked
        address signer; // per-consent key of the citizen
    }

    /// @notice One signed grant, as submitted to {grant} and {grantBatch}.
    struct GrantRequest {
        bytes32 consentId;
        bytes32 commitment;
        uint64 expiresAt;
        bytes signature;
    }

    /// @notice One checkpoint of the audit log anchored by the operator.
    struct Anchor {
        uint64 size;
        bytes32 root;
        uint64 blockNumber;
        uint64 timestamp;
    }

    bytes32 public constant GRANT_TYPEHASH =
        keccak256("Grant(bytes32 consentId,bytes32 commitment,uint64 expiresAt)");
    bytes32 public constant REVOKE_TYPEHASH = keccak256("Revoke(bytes32 consentId)");

    /// @notice The operator key allowed to anchor log checkpoints.
    address public immutable anchorer;

    mapping(bytes32 consentId => Consent) private _consents;
    Anchor[] private _anchors;

    event ConsentGranted(bytes32 indexed consentId, bytes32 commitment, uint64 expiresAt, address indexed signer);
    event ConsentRevoked(bytes32 indexed consentId, address indexed signer, address relayer);
    event CheckpointAnchored(uint256 indexed index, uint64 size, bytes32 root);

    error ConsentExists(bytes32 consentId);
    error UnknownConsent(bytes32 consentId);
    error AlreadyRevoked(bytes32 consentId);
    error AlreadyExpired(bytes32 consentId, uint64 expiresAt);
    error NotSigner(bytes32 consentId, address caller);
    error InvalidSignature();
    error NotAnchorer(address caller);
    error AnchorSizeDecreased(uint64 lastSize, uint64 size);
    error AnchorRootConflict(uint64 size, bytes32 anchoredRoot, bytes32 root);
    error AnchorUnchanged(uint64 size);
    error EmptyBatch();

    /// @param anchorer_ The operator address allowed to call {anchor}.
    constructor(address anchorer_) EIP712("MyData ConsentRegistry", "1") {
        anchorer = anchorer_;
    }

    /// @notice Records a consent signed by the citizen's per-consent key.
    /// @param request The consent id, commitment, expiry and EIP-712 Grant signature.
    function grant(GrantRequest calldata request) external {
        _grant(request);
    }

    /// @notice Records several signed consents in one transaction; all or none.
    /// @param requests The grants to record.
    function grantBatch(GrantRequest[] calldata requests) external {
        if (requests.length == 0) revert EmptyBatch();
        for (uint256 i = 0; i < requests.length; ++i) {
            _grant(requests[i]);
        }
    }

    /// @notice Revokes a consent; only its signer, sending the transaction itself.
    /// @param consentId The consent to revoke.
    function revoke(bytes32 consentId) external {
        _revoke(consentId, msg.sender);
    }

    /// @notice Revokes a consent relayed by anyone with the signer's EIP-712 Revoke signature.
    /// @param consentId The consent to revoke.
    /// @param signature The signer's signature over Revoke(consentId).
    function revokeBySig(bytes32 consentId, bytes calldata signature) external {
        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(REVOKE_TYPEHASH, consentId)));
        _revoke(consentId, _recover(digest, signature));
    }

    /// @notice Anchors a signed checkpoint (tree size and root) of the operator's audit log.
    /// @param size The number of log entries the checkpoint covers.
    /// @param root The RFC 9162 Merkle tree hash at that size.
    function anchor(uint64 size, bytes32 root) external {
        if (msg.sender != anchorer) revert NotAnchorer(msg.sender);
        uint256 count = _anchors.length;
        if (count > 0) {
            Anchor storage last = _anchors[count - 1];
            if (size < last.size) revert AnchorSizeDecreased(last.size, size);
            if (size == last.size) {
                if (root != last.root) revert AnchorRootConflict(size, last.root, root);
                revert AnchorUnchanged(size);
            }
        }
        _anchors.push(Anchor(size, root, uint64(block.number), uint64(block.timestamp)));
        emit CheckpointAnchored(count, size, root);
    }

    /// @notice True while the consent exists, is not revoked and `block.timestamp < expiresAt`.
    /// @param consentId The consent to check.
    function isActive(bytes32 consentId) external view returns (bool) {
        Consent storage c = _consents[consentId];
        return c.signer != address(0) && c.revokedAt == 0 && block.timestamp < c.expiresAt;
    }

    /// @notice The stored state of a consent (all zero when unknown).
    /// @param consentId The consent to read.
    function getConsent(bytes32 consentId) external view returns (Consent memory) {
        return _consents[consentId];
    }

    /// @notice Number of anchors recorded so far.
    function anchorCount() external view returns (uint256) {
        return _anchors.length;
    }

    /// @notice The anchor at `index` (0 is the oldest).
    /// @param index Position in the anchor history.
    function anchorAt(uint256 index) external view returns (Anchor memory) {
        return _anchors[index];
    }

    /// @notice The EIP-712 domain separator of this deployment.
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    function _grant(GrantRequest calldata r) private {
        if (_consents[r.consentId].signer != address(0)) revert ConsentExists(r.consentId);
        if (r.expiresAt <= block.timestamp) revert AlreadyExpired(r.consentId, r.expiresAt);
        bytes32 digest =
            _hashTypedDataV4(keccak256(abi.encode(GRANT_TYPEHASH, r.consentId, r.commitment, r.expiresAt)));
        address signer = _recover(digest, r.signature);
        _consents[r.consentId] = Consent(r.commitment, r.expiresAt, uint64(block.timestamp), 0, signer);
        emit ConsentGranted(r.consentId, r.commitment, r.expiresAt, signer);
    }

    function _revoke(bytes32 consentId, address by) private {
        Consent storage c = _consents[consentId];
        if (c.signer == address(0)) revert UnknownConsent(consentId);
        if (c.signer != by) revert NotSigner(consentId, by);
        if (c.revokedAt != 0) revert AlreadyRevoked(consentId);
        c.revokedAt = uint64(block.timestamp);
        emit ConsentRevoked(consentId, by, msg.sender);
    }

    function _recover(bytes32 digest, bytes calldata signature) private pure returns (address) {
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, signature);
        if (err != ECDSA.RecoverError.NoError) revert InvalidSignature();
        return signer;
    }
}
