// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface IERC20 {
    function transfer(address to, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
}

/// Moves ETH onwards inside a transaction, producing internal (trace) value transfers.
contract Forwarder {
    /// One internal call carrying all of msg.value.
    function forward(address payable to) external payable {
        (bool ok, ) = to.call{value: msg.value}("");
        require(ok, "forward failed");
    }

    /// Two internal calls: `first` wei to a, the rest to b.
    function split(address payable a, address payable b, uint256 first) external payable {
        (bool ok1, ) = a.call{value: first}("");
        (bool ok2, ) = b.call{value: msg.value - first}("");
        require(ok1 && ok2, "split failed");
    }

    /// Forwards through another Forwarder: a nested internal call (trace address 0,0).
    function relay(Forwarder next, address payable to) external payable {
        next.forward{value: msg.value}(to);
    }

    /// The inner call reverts but is caught: its value never moves; the outer call keeps it.
    function tryForward(Forwarder next, address payable to) external payable {
        try this.forwardThenRevert{value: msg.value}(to) {} catch {}
        next; // silence unused warning
    }

    function forwardThenRevert(address payable to) external payable {
        (bool ok, ) = to.call{value: msg.value}("");
        require(ok, "inner");
        revert("always");
    }

    /// Reverts after attempting to forward: the whole transaction fails and moves no value.
    function failAfterForward(address payable to) external payable {
        (bool ok, ) = to.call{value: msg.value}("");
        require(ok, "forward failed");
        revert("nope");
    }

    /// Creates a Piggy holding `value` wei (an internal create carrying value).
    function spawn(uint256 value) external payable returns (address) {
        Piggy p = new Piggy{value: value}();
        return address(p);
    }

    receive() external payable {}
}

/// Created with value; gives everything to `to` on selfdestruct (the value flow traces record as suicide).
contract Piggy {
    constructor() payable {}

    function destroy(address payable to) external {
        selfdestruct(to);
    }

    receive() external payable {}
}

/// A fixed-denomination mixer in the shape of Tornado Cash (no zero-knowledge proof: a test fixture only).
contract FixedMixer {
    uint256 public immutable denomination;
    mapping(bytes32 => bool) public commitments;
    mapping(bytes32 => bool) public nullifierHashes;

    event Deposit(bytes32 indexed commitment, uint32 leafIndex, uint256 timestamp);
    event Withdrawal(address to, bytes32 nullifierHash, address indexed relayer, uint256 fee);

    uint32 public nextIndex;

    constructor(uint256 denomination_) {
        denomination = denomination_;
    }

    function deposit(bytes32 commitment) external payable {
        require(msg.value == denomination, "wrong amount");
        require(!commitments[commitment], "duplicate");
        commitments[commitment] = true;
        emit Deposit(commitment, nextIndex++, block.timestamp);
    }

    function withdraw(address payable to, bytes32 nullifierHash, address payable relayer, uint256 fee) external {
        require(!nullifierHashes[nullifierHash], "spent");
        require(fee <= denomination, "fee");
        nullifierHashes[nullifierHash] = true;
        (bool ok, ) = to.call{value: denomination - fee}("");
        require(ok, "payout");
        if (fee > 0) {
            (bool okf, ) = relayer.call{value: fee}("");
            require(okf, "fee payout");
        }
        emit Withdrawal(to, nullifierHash, relayer, fee);
    }
}

/// A constant-product ETH/token pool (Uniswap v1 style, 0.3% fee).
contract SwapPool {
    IERC20 public immutable token;
    uint256 public tokenReserve;

    constructor(IERC20 token_) {
        token = token_;
    }

    /// Seeds liquidity: ETH as msg.value, tokens pulled with transferFrom (approve first).
    function addLiquidity(uint256 tokenAmount) external payable {
        require(token.transferFrom(msg.sender, address(this), tokenAmount), "pull");
        tokenReserve += tokenAmount;
    }

    function getOut(uint256 amountIn, uint256 reserveIn, uint256 reserveOut) public pure returns (uint256) {
        uint256 inWithFee = amountIn * 997;
        return (inWithFee * reserveOut) / (reserveIn * 1000 + inWithFee);
    }

    function ethToToken(uint256 minOut) external payable returns (uint256 out) {
        uint256 ethReserve = address(this).balance - msg.value;
        out = getOut(msg.value, ethReserve, tokenReserve);
        require(out >= minOut, "slippage");
        tokenReserve -= out;
        require(token.transfer(msg.sender, out), "push");
    }

    function tokenToEth(uint256 amountIn, uint256 minOut) external returns (uint256 out) {
        out = getOut(amountIn, tokenReserve, address(this).balance);
        require(out >= minOut, "slippage");
        require(token.transferFrom(msg.sender, address(this), amountIn), "pull");
        tokenReserve += amountIn;
        (bool ok, ) = payable(msg.sender).call{value: out}("");
        require(ok, "pay");
    }
}
